// `npm test`: the whole suite, as CI runs it.
//  1. worker-configuration.d.ts is current (`wrangler types --check`);
//  2. the static checks, two at a time: the type check of every project (platform and workers
//     tests, end-to-end tests and scripts, the SDK, the CLI and its template, the example plugins),
//     ESLint, the Prettier format check, and the layering rules (scripts/check-layers.mjs);
//  3. vitest: unit + integration tests inside workerd, then end-to-end tests against the real
//     local server over HTTP.
// Ends with one summary line "Tests: N passed, N failed" and a non-zero exit on any failure.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { prepareAssets } from "./assets.mjs";
import { buildPackages } from "./build-packages.mjs";
import { ROOT, ensureDevVars, wranglerEnv } from "./local-platform.mjs";

const bin = (name) => join(ROOT, "node_modules", ".bin", name);
const run = (label, cmd, args) => {
  console.log(`\n▶ ${label}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, env: wranglerEnv(), stdio: "inherit" });
  return r.status === 0;
};

ensureDevVars();
prepareAssets();
await buildPackages();
const extra = process.argv.slice(2);
let ok = run("wrangler types --check (Env is current)", process.execPath, [
  join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
  "types",
  "--strict-vars=false",
  "--check",
]);
if (!ok)
  console.error("worker-configuration.d.ts is stale: run `npm run cf-typegen` and commit it.");

/** Runs the checks two at a time (the machines have two cores); each one's output is printed whole when it ends. */
async function checks(list) {
  const results = [];
  const queue = [...list];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [label, cmd, args] = next;
      const started = Date.now();
      const child = spawn(cmd, args, {
        cwd: ROOT,
        env: wranglerEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      const code = await new Promise((res) => child.on("close", res));
      console.log(
        `\n▶ ${label} (${((Date.now() - started) / 1000).toFixed(0)} s): ${code === 0 ? "ok" : "FAILED"}`,
      );
      if (code !== 0 || output.trim())
        process.stdout.write(output.trim() ? output.trimEnd() + "\n" : "");
      results.push(code === 0);
    }
  };
  await Promise.all([worker(), worker()]);
  return results.every(Boolean);
}
const tsc = (project, what) => [
  `tsc -p ${project} (${what})`,
  bin("tsc"),
  ["--noEmit", "-p", project],
];
ok =
  (await checks([
    [
      "eslint (floating promises, type-only imports, unused code)",
      bin("eslint"),
      ["--max-warnings=0", "."],
    ],
    tsc(".", "platform, workers and their tests"),
    tsc("test/e2e", "end-to-end tests, scripts"),
    tsc("packages/sdk", "@atoll/sdk"),
    tsc("packages/cli", "the atoll CLI"),
    tsc("packages/cli/template", "the atoll init template"),
    tsc("plugins", "the example plugins"),
    ["prettier --check (width 100)", bin("prettier"), ["--check", "--log-level=warn", "."]],
    [
      "layering (docs/architecture.md)",
      process.execPath,
      [join(ROOT, "scripts", "check-layers.mjs")],
    ],
  ])) && ok;

mkdirSync(join(ROOT, ".tmp"), { recursive: true });
const report = join(ROOT, ".tmp", "vitest-report.json");
rmSync(report, { force: true });
ok =
  run("vitest (workers: unit + integration; e2e: real local server over HTTP)", bin("vitest"), [
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...extra,
  ]) && ok;

let passed = 0;
let failed = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, "utf8"));
  passed = r.numPassedTests;
  failed = r.numFailedTests || r.numFailedTestSuites || 0;
} else {
  failed = 1;
}
if (!ok && failed === 0) failed = 1;
console.log(`\nTests: ${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
