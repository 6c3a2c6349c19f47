// Starts the whole platform locally (wrangler dev on workerd: D1, R2 and Durable Objects on disk)
// and seeds demo data. Used by `npm start`, the end-to-end tests and the benchmark.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareAssets } from "./assets.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** Environment for every wrangler call: offline, no telemetry, no login, no prompts. */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_HIDE_BANNER: "true",
    CI: "true",
    ...extra,
  };
}

/** Creates .dev.vars from .dev.vars.example on a fresh clone. */
export function ensureDevVars() {
  const target = join(ROOT, ".dev.vars");
  if (!existsSync(target)) copyFileSync(join(ROOT, ".dev.vars.example"), target);
}

export function readDevVars() {
  const vars = {};
  for (const line of readFileSync(join(ROOT, ".dev.vars"), "utf8").split("\n")) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

/** Runs wrangler synchronously (for migrations and type checks); throws with its output on failure. */
export function wranglerSync(args, { quiet = true } = {}) {
  const r = spawnSync(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: wranglerEnv(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  if (!quiet) process.stdout.write(r.stdout);
  return r.stdout;
}

/**
 * Starts the platform. Options: port, persistTo (state folder; default .wrangler/state),
 * vars (extra [vars] overrides), logLevel, inherit (stream wrangler's output to this terminal).
 * Resolves once /healthz answers 200.
 * @param {{ port?: number, persistTo?: string, vars?: Record<string, string>, logLevel?: string, inherit?: boolean, inspectorPort?: number }} [options]
 */
export async function startPlatform({ port = 8787, persistTo, vars = {}, logLevel = "info", inherit = false, inspectorPort } = {}) {
  ensureDevVars();
  prepareAssets();
  const persist = persistTo ? ["--persist-to", persistTo] : [];
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", ...persist]);
  const varArgs = Object.entries({ ATOLL_ISSUER: `http://127.0.0.1:${port}`, ...vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const args = [WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port), "--log-level", logLevel, "--show-interactive-dev-session=false", ...persist, ...varArgs];
  if (inspectorPort) args.push("--inspector-port", String(inspectorPort));
  const child = spawn(process.execPath, args, { cwd: ROOT, env: wranglerEnv(), stdio: ["ignore", inherit ? "inherit" : "pipe", inherit ? "inherit" : "pipe"], detached: false });
  let output = "";
  if (!inherit) {
    child.stdout.on("data", (d) => (output = (output + d).slice(-20_000)));
    child.stderr.on("data", (d) => (output = (output + d).slice(-20_000)));
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`the platform did not become healthy within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    });
  return { url, child, stop, output: () => output };
}

export const DEMO = { email: "demo@atoll.local", name: "Demo Developer", organization: { name: "Demo", slug: "demo" } };

/**
 * Seeds the demo organization through the public API on the first start and writes its
 * credentials to `credentialsPath`. Later starts reuse them when they still work.
 */
export async function seedDemo(url, credentialsPath, operatorKey) {
  if (existsSync(credentialsPath)) {
    const saved = JSON.parse(readFileSync(credentialsPath, "utf8"));
    const me = await fetch(`${url}/v1/me`, { headers: { "x-api-key": saved.apiKey } });
    if (me.status === 200) return { ...saved, url, created: false };
  }
  const res = await fetch(`${url}/v1/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(DEMO) });
  if (res.status === 409) {
    throw new Error(
      "The local database already has the demo organization, but its credentials file is missing or stale.\n" +
        `Reset local state with \`npm run reset\` (deletes .wrangler/state and .atoll), then \`npm start\` again.`,
    );
  }
  if (res.status !== 201) throw new Error(`seeding the demo organization failed: ${res.status} ${await res.text()}`);
  const body = await res.json();
  const creds = {
    url,
    organization: body.organization,
    user: body.user,
    apiKey: body.apiKey,
    apiKeyId: body.apiKeyId,
    operatorKey,
  };
  mkdirSync(dirname(credentialsPath), { recursive: true });
  writeFileSync(credentialsPath, JSON.stringify(creds, null, 2) + "\n", { mode: 0o600 });
  return { ...creds, created: true };
}
