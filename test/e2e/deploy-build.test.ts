/**
 * Production builds from a fresh clone: `wrangler deploy --dry-run` for the gateway (production
 * environment) and for the dispatch namespace's outbound Worker, run on a copy of exactly the files
 * git tracks (no .generated/, no .wrangler/, nothing a local script wrote), with this checkout's
 * node_modules. The gateway's build must produce what it imports itself (wrangler.toml [build]).
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..", "..");
let copy = "";

function wrangler(args: string[]) {
  const res = spawnSync(join(root, "node_modules", ".bin", "wrangler"), args, {
    cwd: copy,
    encoding: "utf8",
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_API_TOKEN: "",
      CLOUDFLARE_ACCOUNT_ID: "",
      NO_COLOR: "1",
    },
    timeout: 120_000,
  });
  return { status: res.status, out: `${res.stdout}\n${res.stderr}` };
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), "atoll-clean-"));
  const tracked = spawnSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" });
  expect(tracked.status).toBe(0);
  for (const file of tracked.stdout.split("\0").filter(Boolean)) {
    if (!existsSync(join(root, file))) continue; // deleted in the working tree, not yet committed
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(root, file), join(copy, file));
  }
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"), "dir");
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe("the production build from tracked files only", () => {
  it("builds the gateway for the production environment, generated inputs included", () => {
    expect(existsSync(join(copy, ".generated"))).toBe(false);
    const out = join(copy, "out-gateway");
    const res = wrangler(["deploy", "--dry-run", "--env", "production", "--outdir", out]);
    expect(res.out).not.toMatch(/ERROR/);
    expect(res.status).toBe(0);
    expect(res.out).toContain("--dry-run: exiting now.");
    // The production bindings reached the bundle's configuration.
    expect(res.out).toMatch(/env\.DISPATCHER \(atoll-plugins \(outbound -> atoll-outbound\)\)/);
    // The API reference bundle is inside the Worker (the /docs page works offline).
    const bundle = readFileSync(join(out, "index.js"), "utf8");
    expect(bundle.length).toBeGreaterThan(1_000_000);
  }, 150_000);

  it("builds the outbound Worker", () => {
    const res = wrangler([
      "deploy",
      "--dry-run",
      "-c",
      "workers/outbound/wrangler.toml",
      "--outdir",
      join(copy, "out-outbound"),
    ]);
    expect(res.out).not.toMatch(/ERROR/);
    expect(res.status).toBe(0);
    expect(res.out).toContain("--dry-run: exiting now.");
  }, 150_000);
});

describe("npm run deploy refuses what would fail or be useless", () => {
  const read = (p: string) => readFileSync(join(root, p), "utf8");
  const files = () => ({
    gateway: read("wrangler.toml"),
    outbound: read("workers/outbound/wrangler.toml"),
    deploying: read("docs/deploying.md"),
  });
  const filled = (gateway: string) =>
    gateway
      .replace("REPLACE_WITH_PRODUCTION_D1_ID", "11111111-2222-3333-4444-555555555555")
      .replace("REPLACE_WITH_ACCOUNT_ID", "0123456789abcdef0123456789abcdef");

  it("names each placeholder left in this repository's production values, and nothing else", async () => {
    const { deployProblems } = await import("../../scripts/deploy.mjs");
    const problems = deployProblems(files());
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toContain("REPLACE_WITH_PRODUCTION_D1_ID");
    expect(problems.join("\n")).toContain("REPLACE_WITH_ACCOUNT_ID");
    // Filled in, the configuration is deployable: every required secret is documented, the
    // production hostname is routed, the outbound Worker is off workers.dev.
    expect(deployProblems({ ...files(), gateway: filled(files().gateway) })).toEqual([]);
  });

  it("refuses an undocumented secret, a secret declared as a var, no route, a public outbound Worker", async () => {
    const { deployProblems } = await import("../../scripts/deploy.mjs");
    const base = { ...files(), gateway: filled(files().gateway) };
    const undocumented = deployProblems({
      ...base,
      deploying: base.deploying.replaceAll(
        "wrangler secret put ATOLL_PAYMENTS_WEBHOOK_SECRET --env production",
        "",
      ),
    });
    expect(undocumented).toEqual([expect.stringContaining("ATOLL_PAYMENTS_WEBHOOK_SECRET")]);
    const asVar = deployProblems({
      ...base,
      gateway: base.gateway.replace(
        "[env.production.vars]\n",
        '[env.production.vars]\nATOLL_OPERATOR_KEY = "in-plain-sight"\n',
      ),
    });
    expect(asVar).toEqual([expect.stringContaining("ATOLL_OPERATOR_KEY is both a var")]);
    const unrouted = deployProblems({
      ...base,
      gateway: base.gateway.replace(/^routes = .*$/m, ""),
    });
    expect(unrouted).toEqual([expect.stringContaining("no routes")]);
    const exposed = deployProblems({
      ...base,
      outbound: base.outbound.replace("workers_dev = false", "workers_dev = true"),
    });
    expect(exposed).toEqual([expect.stringContaining("workers_dev = false")]);
    const shadowing = deployProblems({
      ...base,
      gateway: base.gateway.replace(/^name = "atoll-local"$/m, 'name = "atoll"'),
    });
    expect(shadowing).toEqual([expect.stringContaining("bare `wrangler deploy`")]);
  });

  it("a bare wrangler deploy cannot overwrite production: the top level is another, unrouted Worker", () => {
    const gateway = files().gateway;
    const top = gateway.split(/^\s*\[/m)[0] ?? "";
    expect(top).toMatch(/^name = "atoll-local"$/m);
    expect(top).toMatch(/^workers_dev = false$/m);
    expect(top).not.toMatch(/^routes?\s*=/m);
    const production = /^\[env\.production\]\n(?:#.*\n)*name = "([^"]+)"/m.exec(gateway)?.[1];
    expect(production).toBe("atoll");
    // User Workers bind to and tail into the production Worker by that name.
    expect(readFileSync(join(root, "src/runtime/dispatch-host.ts"), "utf8")).toContain(
      `platformService = "${production}"`,
    );
  });

  it("the deploy script stops before touching Cloudflare while a placeholder is left", () => {
    const res = spawnSync(join(root, "node_modules", ".bin", "node"), ["scripts/deploy.mjs"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CLOUDFLARE_API_TOKEN: "", PATH: "/nonexistent" },
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^Not deploying:\n {2}- .*REPLACE_WITH_/);
    expect(res.stdout).not.toContain("$ wrangler");
  });
});
