/**
 * Plugins on the real local platform: the gateway in one workerd process, plugin isolates in the
 * separate plugin host, the Stripe stand-in on loopback. Includes the newcomer's flow with the CLI
 * and a plugin that spins its CPU.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { afterAll, describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
  apiKey: string;
  organization: { slug: string };
  plugins: Record<string, string>;
};
const key = { "x-api-key": creds.apiKey };
const root = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "atoll-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function atoll(...args: string[]) {
  return spawnSync(process.execPath, [join(root, "packages", "cli", "bin", "atoll.mjs"), ...args], {
    cwd: work,
    encoding: "utf8",
    env: { ...process.env, ATOLL_URL: base, ATOLL_API_KEY: creds.apiKey },
  });
}

async function publishRaw(name: string, source: string, manifest: Record<string, unknown> = {}) {
  const m: Record<string, unknown> & { name: string } = {
    name: `@${creds.organization.slug}/${name}`,
    version: "1.0.0",
    description: "e2e",
    author: "e2e",
    kind: "plugin",
    entry: "index.js",
    apiVersion: "1",
    ...manifest,
  };
  const zip = zipSync({ "manifest.json": strToU8(JSON.stringify(m)), "index.js": strToU8(source) });
  const pub = await fetch(`${base}/v1/packages`, {
    method: "POST",
    headers: { ...key, "content-type": "application/zip" },
    body: zip,
  });
  expect(pub.status).toBe(201);
  const inst = await fetch(`${base}/v1/installations`, {
    method: "POST",
    headers: { ...key, "content-type": "application/json" },
    body: JSON.stringify({ plugin: m.name, grants: m.permissions ?? [] }),
  });
  expect(inst.status).toBe(201);
  return (await inst.json()) as { id: string; endpoint: string };
}

describe("the demo plugins", () => {
  it("are installed and answer through the plugin host", async () => {
    expect(Object.keys(creds.plugins).sort()).toEqual([
      "advanced-analytics",
      "hello",
      "payment-gateway",
      "slack-responder",
    ]);
    const hello = await fetch(`${creds.plugins.hello}/hello/Ada`, { headers: key });
    expect(await hello.json()).toEqual({ message: "Hello, Ada!" });
    const stats = await fetch(`${creds.plugins["advanced-analytics"]}/stats`, {
      method: "POST",
      // The route declares a JSON body: anything else is a 415 from the gateway.
      headers: { ...key, "content-type": "application/json" },
      body: JSON.stringify({ values: [1, 2, 3] }),
    });
    expect(await stats.json()).toMatchObject({ count: 3, mean: 2 });
    const charge = await fetch(`${creds.plugins["payment-gateway"]}/charges`, {
      method: "POST",
      headers: { ...key, "content-type": "application/json" },
      body: JSON.stringify({
        amount: 1999,
        currency: "usd",
        source: "tok_visa",
        idempotencyKey: `e2e-${Date.now()}`,
      }),
    });
    expect(await charge.json()).toMatchObject({ amount: 1999, status: "succeeded" });
  });
});

describe("a newcomer with the CLI", () => {
  it("goes from atoll init to a working endpoint within a minute", async () => {
    const started = Date.now();
    const init = atoll("init", "my-plugin", "--scope", creds.organization.slug);
    expect(init.status, init.stderr).toBe(0);
    const dev = atoll("dev", "my-plugin", "--platform", "--once");
    expect(dev.status, dev.stdout + dev.stderr).toBe(0);
    const endpoint = /ready: (\S+)/.exec(dev.stdout)?.[1];
    expect(endpoint).toBeTruthy();
    const res = await fetch(`${endpoint}/hello/World`, { headers: key });
    expect(await res.json()).toEqual({ message: "Hello, World!" });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(dev.stdout).toMatch(/probe: GET \/ answered 200 in \d+ ms/);
    // A second dev run publishes a new dev version and replaces the installation.
    const again = atoll("dev", "my-plugin", "--platform", "--once");
    expect(again.stdout).toMatch(/0\.1\.0-dev\.1/);
  });

  it("starts from a marketplace template", async () => {
    const init = atoll(
      "init",
      "from-template",
      "--scope",
      creds.organization.slug,
      "--template",
      "@acme-tools/storefront-starter",
    );
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toContain("from @acme-tools/storefront-starter");
    const dev = atoll("dev", "from-template", "--platform", "--once");
    expect(dev.status, dev.stdout + dev.stderr).toBe(0);
    const endpoint = /ready: (\S+)/.exec(dev.stdout)?.[1];
    expect((await fetch(`${endpoint}/hello/T`, { headers: key })).status).toBe(200);
    const missing = atoll("init", "nope", "--template", "@acme-tools/no-such-template");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot download/);
  });

  it("explains a broken manifest and a failed bundle", () => {
    const init = atoll("init", "broken", "--scope", creds.organization.slug);
    expect(init.status).toBe(0);
    spawnSync(
      "sh",
      ["-c", `sed -i 's/"apiVersion": "1"/"apiVersion": "9"/' broken/manifest.json`],
      { cwd: work },
    );
    const build = atoll("build", "broken");
    expect(build.status).toBe(1);
    expect(build.stderr).toMatch(/apiVersion: .*not supported/);
  });
});

describe("a plugin that misbehaves at runtime", () => {
  it("spinning its CPU gets a 504 at the deadline while the gateway stays responsive, and is recycled", async () => {
    const spin = await publishRaw(
      "spinner",
      `export default { fetch(req) { if (new URL(req.url).pathname === "/spin") { const end = Date.now() + 60000; while (Date.now() < end) {} } return new Response("fine"); } }`,
      { limits: { cpuMs: 50 } },
    );
    const started = Date.now();
    const pending = fetch(`${base}${spin.endpoint}/spin`, { headers: key });
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(1_000);
    const res = await pending;
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(((await res.json()) as { type: string }).type).toMatch(/plugin-timeout$/);
    // The supervisor recycles the host; plugin calls work again.
    const deadline = Date.now() + 20_000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      const r = await fetch(`${creds.plugins.hello}/hello/again`, { headers: key }).catch(
        () => null,
      );
      ok = r?.status === 200;
      if (!ok) await new Promise((r2) => setTimeout(r2, 500));
    }
    expect(ok).toBe(true);
  });

  it("warns the author when a call takes longer than its production CPU limit", async () => {
    const slow = await publishRaw(
      "slowpoke",
      `export default { async fetch() { const end = Date.now() + 120; while (Date.now() < end) {} return new Response("slow"); } }`,
      { limits: { cpuMs: 20 } },
    );
    const res = await fetch(`${base}${slow.endpoint}/`, { headers: key });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-atoll-limit-warning")).toMatch(/CPU limit is 20 ms/);
  });
});
