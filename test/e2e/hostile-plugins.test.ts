/**
 * The hostile-plugin suite (test/hostile/suite.ts) against the `service` backend — the local
 * plugin host in its own process, as `npm start` runs it — plus what only the real local
 * platform can show: no inspector ports, no secret on a command line, a plugin host that answers
 * only sealed messages, and raw request targets.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { strToU8, zipSync } from "fflate";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { hostileSuite, type HostileTarget } from "../hostile/suite";
import { verifiedPublisher } from "./publisher";

const base = inject("baseUrl");
const hostUrl = inject("hostUrl");
const canary = inject("canary");
const operatorKey = inject("operatorKey");
let apiKey = "";
let slug = "";

beforeAll(async () => {
  ({ apiKey, slug } = await verifiedPublisher(base, operatorKey, "hostile"));
});

const target: HostileTarget = {
  canary,
  async install(source, manifest = {}) {
    const m = {
      name: `@${slug}/raw-${Math.random().toString(36).slice(2, 8)}`,
      version: "1.0.0",
      description: "hostile",
      author: "e2e",
      kind: "plugin",
      entry: "index.js",
      apiVersion: "1",
      ...manifest,
    };
    const zip = zipSync({
      "manifest.json": strToU8(JSON.stringify(m)),
      "index.js": strToU8(source),
    });
    const pub = await fetch(`${base}/v1/packages`, {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "application/zip" },
      body: zip,
    });
    if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${await pub.text()}`);
    const grants = (m as { permissions?: string[] }).permissions ?? [];
    const inst = await fetch(`${base}/v1/installations`, {
      method: "POST",
      headers: { "x-api-key": apiKey, "content-type": "application/json" },
      body: JSON.stringify({ plugin: m.name, grants }),
    });
    if (inst.status !== 201) throw new Error(`install: ${inst.status} ${await inst.text()}`);
    return (await inst.json()) as { id: string; endpoint: string };
  },
  call(path, init = {}) {
    return fetch(`${base}${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string> | undefined), "x-api-key": apiKey },
    });
  },
  async hits(tag) {
    return (
      (await (await fetch(`${canary}/__canary/hits?tag=${encodeURIComponent(tag)}`)).json()) as {
        hits: number;
      }
    ).hits;
  },
};

hostileSuite("service", () => target);

/** Sends one raw HTTP/1.1 request (request target as given) and returns the raw answer. */
function raw(url: string, requestLine: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () =>
      socket.write(
        `${requestLine}\r\nHost: ${hostname}:${port}\r\nx-api-key: ${apiKey}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let out = "";
    socket.on("data", (d) => (out += d));
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")));
  });
}

/** Loopback TCP ports listened on by the platform's processes (from /proc). */
function platformListeningPorts(): number[] {
  const groups = new Set(inject("processGroups"));
  const inodes = new Set<string>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      if (!groups.has(pgid)) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m?.[1]) inodes.add(m[1]);
      }
    } catch {
      // the process ended meanwhile
    }
  }
  const ports: number[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A" && cols[9] && inodes.has(cols[9]))
        ports.push(parseInt(cols[1]?.split(":")[1] ?? "0", 16));
    }
  }
  return [...new Set(ports)];
}

/** Every command line of the platform's processes. */
function platformCommandLines(): string[] {
  const groups = new Set(inject("processGroups"));
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (groups.has(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2])))
        out.push(readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
    } catch {
      // gone
    }
  }
  return out;
}

describe("the local platform, as an attacker on loopback sees it", () => {
  it("opens no V8 inspector port (no DevTools endpoint answers on any of its ports)", async () => {
    const ports = platformListeningPorts();
    expect(ports.length).toBeGreaterThan(1);
    for (const port of ports) {
      const res = await fetch(`http://127.0.0.1:${port}/json/version`, {
        signal: AbortSignal.timeout(3_000),
      }).catch(() => null);
      const text = res ? await res.text() : "";
      expect(text, `port ${port}`).not.toMatch(/webSocketDebuggerUrl|V8-Version|Protocol-Version/);
    }
  });

  it("serves no local explorer or observability store (raw SQL, Durable Object storage, R2) on any of its ports", async () => {
    const ports = platformListeningPorts();
    for (const port of ports) {
      const origin = `http://127.0.0.1:${port}`;
      const probes = [
        fetch(
          `${origin}/cdn-cgi/local/explorer/api/d1/database/00000000-0000-0000-0000-000000000000/raw`,
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ sql: "SELECT id FROM organizations LIMIT 1", params: [] }),
          },
        ),
        fetch(`${origin}/cdn-cgi/local/explorer/api/workers/durable_objects/namespaces`),
        fetch(`${origin}/cdn-cgi/local/explorer/api/r2/buckets/atoll-packages/objects`),
        fetch(`${origin}/cdn-cgi/local/explorer/api/local/observability/query`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ sql: "SELECT 1", params: [] }),
        }),
      ];
      for (const res of await Promise.all(probes.map((p) => p.catch(() => null)))) {
        if (!res) continue;
        const text = await res.text();
        expect(text, `port ${port}`).not.toMatch(
          /"success":\s*true|org_[0-9A-Za-z]{6}|packages\/sha256|InstallationStore/,
        );
      }
    }
  });

  it("puts no secret on a command line", () => {
    const lines = platformCommandLines();
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      expect(line).not.toContain(operatorKey);
      expect(line).not.toMatch(/HOST_SECRET|SECRET_KEY|whsec_|local-plugin-host-secret/);
    }
  });

  it("has a plugin host that refuses the old constant secret and any unsealed or forged message", async () => {
    const attempts: Record<string, string>[] = [
      { "x-atoll-host-secret": "local-plugin-host-secret-change-me" },
      { "x-atoll-host-auth": "e30.AAAA" },
      {},
    ];
    for (const headers of attempts) {
      expect((await fetch(`${hostUrl}/__host/invoke`, { method: "POST", headers })).status).toBe(
        403,
      );
      expect((await fetch(`${hostUrl}/__host/clear`, { method: "POST", headers })).status).toBe(
        403,
      );
    }
    // The old request shape (installation and organization in the path and body) reaches nothing.
    expect(
      (
        await fetch(`${hostUrl}/__host/clear/ins_abc`, {
          method: "POST",
          headers: { "x-atoll-host-secret": "local-plugin-host-secret-change-me" },
        })
      ).status,
    ).toBe(404);
  });

  it("has a gateway integration bridge that takes no organization or providers from its caller", async () => {
    const res = await fetch(`${base}/__host/integrations`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-atoll-host-secret": "local-plugin-host-secret-change-me",
      },
      body: JSON.stringify({
        props: {
          installationId: "ins_x",
          orgId: "org_x",
          environment: "production",
          providers: ["slack"],
        },
        provider: "slack",
        path: "/api/auth.test",
        init: {},
      }),
    });
    expect([400, 403]).toContain(res.status);
    const forged = await fetch(`${base}/__host/integrations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant: "e30.AAAA",
        provider: "slack",
        path: "/api/auth.test",
        init: {},
      }),
    });
    expect(forged.status).toBe(403);
  });

  it("answers OPTIONS * without a stack trace or a local path", async () => {
    const answer = await raw(base, "OPTIONS * HTTP/1.1");
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
    // Locally, Miniflare's entry in front of the Worker may refuse a "*" target itself, with a
    // bare 500 and no detail; the Worker answers any target that is not an absolute path with a 400
    // problem (src/index.ts). Either way: nothing about the machine.
    expect([400, 500]).toContain(status);
    expect(answer).not.toMatch(/\/work\/|\/tmp\/|node_modules|\bat [\w.<>]+ \(|\.ts:\d+|\.js:\d+/);
    if (status === 500) expect(answer.split("\r\n\r\n")[1]?.trim()).toBe("Internal Server Error");
  });

  it("sends no raw backslash or double-slash request target to a lifecycle hook", async () => {
    const inst = await target.install(
      `export default { fetch(req) { const p = new URL(req.url).pathname; return p.toLowerCase().includes("__atoll") ? Response.json({ ok: true }, { headers: { "x-reached": "lifecycle" } }) : Response.json({ p }); } };`,
    );
    for (const path of [
      `${inst.endpoint}/\\__atoll/cleanup`,
      `${inst.endpoint}//x/__atoll/cleanup`,
      `${inst.endpoint}/..%2F__atoll/cleanup`,
    ]) {
      const answer = await raw(base, `POST ${path} HTTP/1.1`);
      expect(answer.toLowerCase()).not.toContain("x-reached");
    }
  });
});
