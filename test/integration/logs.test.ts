import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { LOGS_KEPT, appendLogs } from "../../src/runtime/log-store";
import { getDb } from "../../src/platform/db/client";
import { seal, sealRelay } from "../../src/runtime/host-auth";
import { installationTag } from "../../src/runtime/script-tags";
import { call, OPERATOR_KEY, problem, signup, type Account, hostRelay } from "../helpers";
import { until } from "../integration-helpers";
import { publishAndInstall, publisher, rawPackage } from "../plugin-helpers";

const SECRET = "tok_live_7a6b5c4d3e2f1";
const PASSWORD = "correct horse battery";

/** A plugin that logs on every call, leaks its secrets into its logs, and throws on /boom. */
const LOGGER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__atoll/initialize") return Response.json({ ok: true });
    console.log("visit", url.pathname, { n: 1 });
    console.warn("secret is", env.SECRET_API_TOKEN, "and password", JSON.parse(env.CONFIG_password));
    console.error("authorization: Bearer abc.def.ghi-123");
    if (url.pathname === "/boom") throw new TypeError("kaput " + env.SECRET_API_TOKEN);
    if (url.pathname === "/flood") for (let i = 0; i < 500; i++) console.log("line", i);
    return new Response("ok");
  },
};`;

interface Logs {
  logs: { id: number; at: string; level: string; message: string; stack?: string }[];
  next: number;
}

async function logsOf(a: Account, id: string, query = ""): Promise<Logs> {
  const res = await call(`/v1/installations/${id}/logs${query}`, { key: a.apiKey });
  expect(res.status).toBe(200);
  return (await res.json()) as Logs;
}

async function install(a: Account) {
  return publishAndInstall(
    a,
    rawPackage(a.slug, LOGGER, {
      permissions: ["secrets:API_TOKEN"],
      config: {
        type: "object",
        properties: { password: { type: "string", writeOnly: true } },
      },
    }),
    { secrets: { API_TOKEN: SECRET }, config: { password: PASSWORD } },
  );
}

describe("an installation's logs", () => {
  it("shows the tenant its plugin's console output and exceptions with stacks, redacted", async () => {
    const a = await publisher();
    const inst = await install(a);
    expect((await call(`${inst.endpoint}/hello`, { key: a.apiKey })).status).toBe(200);
    expect((await call(`${inst.endpoint}/boom`, { key: a.apiKey })).status).toBe(502);
    const got = await until(async () => {
      const l = await logsOf(a, inst.id);
      return l.logs.some((r) => r.level === "exception") ? l : null;
    });
    const text = JSON.stringify(got);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain("abc.def.ghi-123");
    expect(got.logs.map((r) => [r.level, r.message])).toEqual(
      expect.arrayContaining([
        ["log", 'visit /hello {"n":1}'],
        ["warn", "secret is [redacted] and password [redacted]"],
        ["error", "authorization: [redacted]"],
        ["exception", "TypeError: kaput [redacted]"],
      ]),
    );
    const ex = got.logs.find((r) => r.level === "exception");
    expect(ex?.stack).toContain("index.js");
    expect(ex?.stack).not.toContain(SECRET);
    // Oldest first, with a cursor to follow.
    const ids = got.logs.map((r) => r.id);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(got.next).toBe(ids.at(-1));
    const after = await logsOf(a, inst.id, `?after=${got.next}`);
    expect(after.logs).toEqual([]);
    expect(after.next).toBe(got.next);
    const page = await logsOf(a, inst.id, "?limit=2");
    expect(page.logs).toHaveLength(2);
    expect((await logsOf(a, inst.id, `?after=${page.next}`)).logs[0]?.id).toBe(ids[2]);
  });

  it("is the owner's only: another organization gets a 404, a key without installations:read a 403", async () => {
    const a = await publisher();
    const inst = await install(a);
    await call(`${inst.endpoint}/hello`, { key: a.apiKey });
    const stranger = await signup("stranger");
    const res = await call(`/v1/installations/${inst.id}/logs`, { key: stranger.apiKey });
    expect(res.status).toBe(404);
    expect((await problem(res)).type).toMatch(/not-found$/);
    const key = await call("/v1/api-keys", {
      method: "POST",
      key: a.apiKey,
      json: { name: "narrow", scopes: ["org:read"] },
    });
    const narrow = ((await key.json()) as { key: string }).key;
    expect((await call(`/v1/installations/${inst.id}/logs`, { key: narrow })).status).toBe(403);
    expect((await call(`/v1/installations/${inst.id}/logs`)).status).toBe(401);
  });

  it.each([
    ["after=-1", 400],
    ["after=abc", 400],
    ["limit=0", 400],
    ["limit=501", 400],
  ])("refuses ?%s with a problem", async (query, status) => {
    const a = await publisher();
    const inst = await install(a);
    const res = await call(`/v1/installations/${inst.id}/logs?${query}`, { key: a.apiKey });
    expect(res.status).toBe(status);
    await problem(res);
  });

  it("bounds what one invocation can write and what an installation keeps", async () => {
    const a = await publisher();
    const inst = await install(a);
    await call(`${inst.endpoint}/flood`, { key: a.apiKey });
    const got = await until(async () => {
      const l = await logsOf(a, inst.id, "?limit=500");
      return l.logs.some((r) => /more records of this invocation were dropped/.test(r.message))
        ? l
        : null;
    });
    expect(got.logs.length).toBeLessThanOrEqual(100);
    // The history keeps the newest LOGS_KEPT records.
    const db = getDb(env.DB);
    const many = Array.from({ length: LOGS_KEPT + 50 }, (_, i) => ({
      at: Date.now(),
      level: "log" as const,
      message: `old ${i}`,
    }));
    await appendLogs(db, inst.id, many);
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM installation_logs WHERE installation_id = ?",
    )
      .bind(inst.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(LOGS_KEPT);
    // Records older than the retention are trimmed on the next write.
    await appendLogs(db, inst.id, [{ at: 1, level: "log", message: "ancient" }]);
    const ancient = await env.DB.prepare(
      "SELECT count(*) AS n FROM installation_logs WHERE installation_id = ? AND at < 1000",
    )
      .bind(inst.id)
      .first<{ n: number }>();
    expect(ancient?.n).toBe(0);
  });

  it("deletes them on uninstall, and records nothing for an installation that is gone", async () => {
    const a = await publisher();
    const inst = await install(a);
    await call(`${inst.endpoint}/hello`, { key: a.apiKey });
    await until(async () => (await logsOf(a, inst.id)).logs.length > 0);
    expect(
      (await call(`/v1/installations/${inst.id}`, { method: "DELETE", key: a.apiKey })).status,
    ).toBe(204);
    // The cleanup call's own trace arrives after the uninstall: it is dropped.
    await new Promise((r) => setTimeout(r, 300));
    const left = await env.DB.prepare(
      "SELECT count(*) AS n FROM installation_logs WHERE installation_id = ?",
    )
      .bind(inst.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
    expect((await call(`/v1/installations/${inst.id}/logs`, { key: a.apiKey })).status).toBe(404);
  });

  it("the operator may read any installation's logs", async () => {
    const a = await publisher();
    const inst = await install(a);
    await call(`${inst.endpoint}/hello`, { key: a.apiKey });
    await until(async () => (await logsOf(a, inst.id)).logs.length > 0);
    const res = await call(`/v1/installations/${inst.id}/logs`, { key: OPERATOR_KEY });
    expect(res.status).toBe(200);
  });
});

describe("the dispatch namespace's tail consumer (production)", () => {
  const trace = (tags: string[], namespace: string, message: string) =>
    ({
      scriptName: "atoll-x-1",
      dispatchNamespace: namespace,
      scriptTags: tags,
      eventTimestamp: Date.now(),
      outcome: "ok",
      logs: [{ timestamp: Date.now(), level: "log", message: [message] }],
      exceptions: [],
      diagnosticsChannelEvents: [],
      event: null,
      truncated: false,
      executionModel: "stateless",
    }) as unknown as TraceItem;

  it("files each user Worker's trace under the installation its upload tagged, redacted", async () => {
    const a = await publisher();
    const inst = await install(a);
    const ns = env.ATOLL_DISPATCH_NAMESPACE;
    await worker.tail(
      [
        trace(["atoll", installationTag(inst.id)], ns, `from production ${SECRET}`),
        // Another namespace, no tag, two tags: ignored.
        trace([installationTag(inst.id)], "someone-else", "foreign"),
        trace(["atoll"], ns, "untagged"),
        trace([installationTag(inst.id), installationTag("ins_other")], ns, "ambiguous"),
      ],
      env,
    );
    const got = await logsOf(a, inst.id);
    expect(got.logs.map((r) => r.message)).toEqual(["from production [redacted]"]);
  });
});

describe("POST /__host/logs (the local plugin host's forward)", () => {
  const logsToken = (
    installationId: string,
    opts: { exp?: number; kind?: "logs" | "clear" } = {},
  ) =>
    seal(env.ATOLL_HOST_SECRET ?? "", {
      kind: opts.kind ?? "logs",
      exp: opts.exp ?? Date.now() + 60_000,
      installationId,
    } as Parameters<typeof seal>[1]);
  const traces = (message: string) => [
    {
      eventTimestamp: Date.now(),
      outcome: "ok",
      logs: [{ timestamp: Date.now(), level: "info", message }],
      exceptions: [],
    },
  ];
  const forward = (body: Record<string, unknown>) => hostRelay("/__host/logs", body);

  it("files a trace under the installation its sealed message names, redacted", async () => {
    const a = await publisher();
    const inst = await install(a);
    const res = await forward({
      token: await logsToken(inst.id),
      installationId: inst.id,
      traces: traces(`hello ${SECRET}`),
    });
    expect(res.status).toBe(204);
    expect((await logsOf(a, inst.id)).logs.map((r) => [r.level, r.message])).toEqual([
      ["info", "hello [redacted]"],
    ]);
  });

  it("refuses a message for another installation, of another kind, expired, forged or missing", async () => {
    const a = await publisher();
    const victim = await install(a);
    const b = await publisher();
    const mine = await install(b);
    const cases: [string, unknown][] = [
      [
        "another installation's message",
        { token: await logsToken(mine.id), installationId: victim.id },
      ],
      [
        "a clear message",
        { token: await logsToken(victim.id, { kind: "clear" }), installationId: victim.id },
      ],
      [
        "an expired message",
        { token: await logsToken(victim.id, { exp: Date.now() - 1 }), installationId: victim.id },
      ],
      [
        "a forged message",
        {
          token: await seal("not-the-host-secret", {
            kind: "logs",
            exp: Date.now() + 60_000,
            installationId: victim.id,
          }),
          installationId: victim.id,
        },
      ],
      ["no message", { token: "", installationId: victim.id }],
    ];
    for (const [label, body] of cases) {
      const res = await forward({ ...(body as object), traces: traces(`forged by ${label}`) });
      expect(res.status, label).toBe(403);
    }
    expect((await forward({ token: "x", installationId: victim.id, traces: "nope" })).status).toBe(
      403,
    );
    // With a current message, malformed traces are a 400.
    const malformed = await forward({
      token: await logsToken(victim.id),
      installationId: victim.id,
      traces: "nope",
    });
    expect(malformed.status).toBe(400);
    await problem(malformed);
    expect((await logsOf(a, victim.id)).logs).toEqual([]);
  });
  it("refuses the unsealed shape with a current token, and a report sent twice", async () => {
    const a = await publisher();
    const inst = await install(a);
    const unsealed = await call("/__host/logs", {
      method: "POST",
      json: { token: await logsToken(inst.id), installationId: inst.id, traces: traces("plain") },
    });
    expect(unsealed.status).toBe(403);
    const relay = await sealRelay(
      env.ATOLL_HOST_SECRET ?? "",
      "/__host/logs",
      await logsToken(inst.id),
      JSON.stringify({ installationId: inst.id, traces: traces("once") }),
    );
    const send = () => call("/__host/logs", { method: "POST", body: relay });
    expect((await send()).status).toBe(204);
    expect((await send()).status).toBe(403);
    expect((await logsOf(a, inst.id)).logs.map((r) => r.message)).toEqual(["once"]);
  });
});
