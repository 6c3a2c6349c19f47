/**
 * Red-team review of plugin logs on the real local platform: the plugin host runs each isolate
 * with its own tail and forwards the trace to the gateway (POST /__host/logs, sealed per
 * installation). An `it.fails` shows a hole (its comment names it); a plain `it` a defence.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { formatLog } from "../../packages/cli/src/main";

const base = inject("baseUrl");
const operatorKey = inject("operatorKey");
let apiKey = "";
let slug = "";

const SECRET = "tok_live_e2eRedTeam0042";

const PLUGIN = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__atoll/initialize") return Response.json({ ok: true });
    if (url.pathname === "/control") throw new Error("control failure " + env.SECRET_API_TOKEN);
    if (url.pathname === "/chatty") {
      for (let i = 0; i < 2001; i++) console.log("step", i);
      throw new Error("chatty failure");
    }
    if (url.pathname === "/escape") {
      // Terminal control sequences: set the window title, write the clipboard (OSC 52), erase the
      // line, and a forged record on a new line.
      console.log("ok\\x1b]0;pwned\\x07\\x1b]52;c;Y3VybCBldmlsfHNo\\x07\\x1b[2K\\r\\n  09:00:00.000 error     forged");
      return new Response("ok");
    }
    if (url.pathname === "/long") throw new Error("long failure " + "x".repeat(40000));
    return new Response("ok");
  },
};`;

const json = (body: unknown, extra: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...extra },
  body: JSON.stringify(body),
});

beforeAll(async () => {
  const tag = `logsrt${Math.random().toString(36).slice(2, 8)}`;
  const res = await fetch(
    `${base}/v1/signup`,
    json({ email: `${tag}@example.test`, name: tag, organization: { name: tag, slug: tag } }),
  );
  const body = (await res.json()) as { apiKey: string; organization: { id: string; slug: string } };
  apiKey = body.apiKey;
  slug = body.organization.slug;
  for (const [what, value] of [
    ["verified", { verified: true }],
    ["plan", { plan: "enterprise" }],
  ] as const)
    await fetch(`${base}/v1/operator/organizations/${body.organization.id}/${what}`, {
      ...json(value, { "x-api-key": operatorKey }),
      method: "PUT",
    });
});

async function install(): Promise<{ id: string; endpoint: string }> {
  const m = {
    name: `@${slug}/logs-${Math.random().toString(36).slice(2, 8)}`,
    version: "1.0.0",
    description: "logs red team",
    author: "e2e",
    kind: "plugin",
    entry: "index.js",
    apiVersion: "1",
    permissions: ["secrets:API_TOKEN"],
  };
  const zip = zipSync({
    "manifest.json": strToU8(JSON.stringify(m)),
    "index.js": strToU8(PLUGIN),
  });
  const pub = await fetch(`${base}/v1/packages`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/zip" },
    body: zip,
  });
  if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${await pub.text()}`);
  const inst = await fetch(
    `${base}/v1/installations`,
    json(
      { plugin: m.name, grants: m.permissions, secrets: { API_TOKEN: SECRET } },
      { "x-api-key": apiKey },
    ),
  );
  if (inst.status !== 201) throw new Error(`install: ${inst.status} ${await inst.text()}`);
  return (await inst.json()) as { id: string; endpoint: string };
}

interface Served {
  id: number;
  at: string;
  level: "debug" | "log" | "info" | "warn" | "error" | "exception";
  message: string;
  stack?: string;
}

/** Calls `path`, then waits (up to 15 s) for a record matching `want` to be served. */
async function recordAfter(path: string, want: (r: Served) => boolean): Promise<Served | null> {
  const inst = await install();
  await (
    await fetch(`${base}${inst.endpoint}${path}`, { headers: { "x-api-key": apiKey } })
  ).text();
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    const res = await fetch(`${base}/v1/installations/${inst.id}/logs?limit=500`, {
      headers: { "x-api-key": apiKey },
    });
    const body = (await res.json()) as { logs: Served[] };
    const found = body.logs.find(want);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

const exceptionAfter = (path: string) => recordAfter(path, (r) => r.level === "exception");

describe("plugin logs through the local plugin host", () => {
  it("held (control): an exception is forwarded, filed under its installation and redacted", async () => {
    const ex = await exceptionAfter("/control");
    expect(ex?.message).toBe("Error: control failure [redacted]");
    expect(JSON.stringify(ex)).not.toContain(SECRET);
  }, 60_000);

  // WAS A HOLE, FIXED (low-medium): the host forwards each trace whole and the gateway validates it whole
  // (host-logs.routes.ts: ≤ 2000 console lines, ≤ 32 kB per message); an invocation over either
  // bound is refused with 400 and the host drops it, so the exception a developer looks for is
  // never shown — whereas the Loader backend keeps 99 records and a "dropped" note.
  it("a chatty invocation's exception still reaches its logs", async () => {
    expect((await exceptionAfter("/chatty"))?.message).toBe("Error: chatty failure");
  }, 60_000);

  // Held: a 40 kB exception message arrives within the route's bounds (the runtime's trace keeps
  // it under 32 kB) and is cut to MAX_MESSAGE like any other.
  it("held: an exception with a long message still reaches its logs, cut", async () => {
    const ex = await exceptionAfter("/long");
    expect(ex?.message).toMatch(/^Error: long failure x+/);
    expect(ex?.message.length).toBeLessThanOrEqual(2_000);
  }, 60_000);

  // WAS A HOLE, FIXED (medium): `atoll logs` (and `atoll dev`, which prints records as they happen) writes a
  // plugin's message to the tenant's terminal as is (packages/cli/src/main.ts formatLog). A
  // stranger's plugin can send terminal control sequences (window title, OSC 52 clipboard write,
  // erase line) and forge whole records with a newline.
  it("atoll logs prints a plugin's message as one inert line", async () => {
    const r = await recordAfter("/escape", (x) => x.message.startsWith("ok"));
    expect(r).not.toBeNull();
    const printed = formatLog(r as Served);
    expect(printed).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(printed.split("\n")).toHaveLength(1);
  }, 60_000);
});

describe("atoll dev (standalone): the loopback endpoint atoll logs and atoll invoke use", () => {
  const root = join(import.meta.dirname, "..", "..");
  const dir = mkdtempSync(join(tmpdir(), "atoll-logs-rt-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // WAS A HOLE, FIXED (medium): `atoll dev` serves `server.logs` and `server.lifecycle` on a loopback port
  // (main.ts standaloneDev, written to .atoll/dev/server.json, mode 0644) with no credential, no
  // Origin and no Host check, while the dev server's own control routes demand the per-start
  // x-atoll-dev-secret. Any local user reads the plugin's logs and runs its hooks with the
  // developer's dev secrets; a web page can too (a text/plain POST is a "simple" request; DNS
  // rebinding reads the answer, as the Host is not checked).
  it("refuses a caller without the dev secret, from a foreign origin and host", async () => {
    const plugin = join(dir, "hello");
    cpSync(join(root, "plugins", "hello"), plugin, {
      recursive: true,
      filter: (src) => !src.includes(".atoll"),
    });
    const child = spawn(
      process.execPath,
      [join(root, "packages/cli/bin/atoll.mjs"), "dev", plugin],
      {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
        stdio: "ignore",
      },
    );
    try {
      const file = join(plugin, ".atoll", "dev", "server.json");
      const end = Date.now() + 60_000;
      while (!existsSync(file) && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
      const { invoke } = JSON.parse(readFileSync(file, "utf8")) as { invoke: string };
      const ask = (body: unknown) =>
        fetch(invoke, {
          method: "POST",
          headers: { "content-type": "text/plain", origin: "https://evil.example" },
          body: JSON.stringify(body),
        });
      const logs = await ask({ logsAfter: 0 });
      const hook = await ask({ hook: "execute", input: {} });
      expect([logs.status, hook.status]).toEqual([403, 403]);
    } finally {
      child.kill("SIGTERM");
    }
  }, 120_000);
});
