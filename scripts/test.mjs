// `npm test`: the whole suite, as CI runs it.
//  1. worker-configuration.d.ts is current (`wrangler types --check`);
//  2. the type check (platform, tests, scripts);
//  3. vitest: unit + integration tests inside workerd, then end-to-end tests against the real
//     local server over HTTP.
// Ends with one summary line "Tests: N passed, N failed" and a non-zero exit on any failure.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { prepareAssets } from "./assets.mjs";
import { ROOT, ensureDevVars, wranglerEnv } from "./local-platform.mjs";

const bin = (name) => join(ROOT, "node_modules", ".bin", name);
const run = (label, cmd, args) => {
  console.log(`\n▶ ${label}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, env: wranglerEnv(), stdio: "inherit" });
  return r.status === 0;
};

ensureDevVars();
prepareAssets();
const extra = process.argv.slice(2);
let ok = run("wrangler types --check (Env is current)", process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "types", "--strict-vars=false", "--check"]);
if (!ok) console.error("worker-configuration.d.ts is stale: run `npm run cf-typegen` and commit it.");
ok = run("tsc --noEmit (platform and workers tests)", bin("tsc"), ["--noEmit"]) && ok;
ok = run("tsc --noEmit -p test/e2e (end-to-end tests, scripts)", bin("tsc"), ["--noEmit", "-p", "test/e2e"]) && ok;

mkdirSync(join(ROOT, ".tmp"), { recursive: true });
const report = join(ROOT, ".tmp", "vitest-report.json");
rmSync(report, { force: true });
ok = run("vitest (workers: unit + integration; e2e: real local server over HTTP)", bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...extra]) && ok;

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
