/**
 * Red-team review of plugin logs (issue 15–16): each test is one attack on a promise of
 * runtime/logs.ts, log-store.ts, log-tail.ts and host-logs.routes.ts. An `it.fails` shows a hole
 * (its comment names it); a plain `it` shows a defence that held.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { seal } from "../../src/runtime/host-auth";
import { installationTag } from "../../src/runtime/script-tags";
import { logRecords } from "../../src/runtime/logs";
import { LOGS_MAX_AGE_MS, appendLogs } from "../../src/runtime/log-store";
import { getDb } from "../../src/platform/db/client";
import { call, problem, type Account, hostRelay } from "../helpers";
import { until } from "../integration-helpers";
import { publishAndInstall, publisher, rawPackage } from "../plugin-helpers";

const SECRET = "tok_live_9f8e7d6c5b4a3";
const PASSWORD = "correct horse battery";
const DB_PASSWORD = "pg-Zq81vX0rT5mN";
const KEY_IN_LIST = "key_live_AbCdEf123456";
// A long credential (a service-account key, a PEM body) used in many requests.
const LONG = "L0ng" + "x9Qw".repeat(49);
const END_USER_PASSWORD = "Tr0ub4dor-3x";

/** What a careless (not malicious) plugin logs while it works. */
const CARELESS = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__atoll/initialize") return Response.json({ ok: true });
    const s = { API_TOKEN: env.SECRET_API_TOKEN }, cfg = { ...env.ATOLL.config };
    // Write-only settings are CONFIG_<key> secret bindings of their JSON (what the SDK merges).
    for (const [k, v] of Object.entries(env)) if (k.startsWith("CONFIG_")) cfg[k.slice(7)] = JSON.parse(v);
    switch (url.pathname) {
      case "/object-setting":
        console.log("connecting to postgres as", cfg.db.user, "with", cfg.db.password);
        console.log("using key", cfg.keys[0]);
        break;
      case "/query-string": {
        const u = new URL("https://api.example.com/v1/search");
        u.searchParams.set("key", cfg.password);
        console.log("GET", u.href);
        break;
      }
      case "/double-json": {
        const body = await request.json();
        console.log("forwarding login", { method: "POST", body: JSON.stringify(body) });
        break;
      }
      case "/repeated":
        console.log("retrying", Array(45).fill(s.LONG));
        break;
      case "/hostile-exception":
        throw new Error("eyJ-".repeat(25000));
      case "/trimmed":
        console.log("calling upstream with", s.API_TOKEN.trim());
        break;
      case "/held": {
        console.log("token", s.API_TOKEN, "and", JSON.stringify({ t: s.API_TOKEN }));
        console.log({ nested: { deeper: [s.API_TOKEN] } });
        console.log("url", "https://x.example/?t=" + encodeURIComponent(cfg.password));
        console.info("authorization: Basic " + btoa("bob:" + cfg.password));
        console.warn(JSON.stringify({ password: "hunter2" }), "password=hunter2&x=1");
        throw new Error("upstream refused " + s.API_TOKEN);
      }
      default:
        console.log("visit", url.pathname, s.API_TOKEN);
    }
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

async function install(a: Account, apiToken = SECRET) {
  return publishAndInstall(
    a,
    rawPackage(a.slug, CARELESS, {
      permissions: ["secrets:API_TOKEN", "secrets:LONG"],
      config: {
        type: "object",
        properties: {
          password: { type: "string", writeOnly: true },
          db: {
            type: "object",
            writeOnly: true,
            properties: { user: { type: "string" }, password: { type: "string" } },
          },
          keys: { type: "array", writeOnly: true, items: { type: "string" } },
        },
      },
    }),
    {
      secrets: { API_TOKEN: apiToken, LONG },
      config: {
        password: PASSWORD,
        db: { user: "bob", password: DB_PASSWORD },
        keys: [KEY_IN_LIST],
      },
    },
  );
}

/** Calls `path` and waits for the invocation's records. */
async function logged(path: string, init: { json?: unknown } = {}, apiToken = SECRET) {
  const a = await publisher();
  const inst = await install(a, apiToken);
  await call(`${inst.endpoint}${path}`, {
    key: a.apiKey,
    ...(init.json ? { method: "POST", json: init.json } : {}),
  });
  const got = await until(async () => {
    const l = await logsOf(a, inst.id);
    return l.logs.length > 0 ? l : null;
  });
  return { a, inst, text: JSON.stringify(got), got };
}

describe("promise 1: secrets and credentials never reach stored logs", () => {
  it("held: raw, JSON-escaped, nested, URL-encoded, Basic, password pairs, exception and stack", async () => {
    const { got, text } = await logged("/held");
    for (const leaked of [SECRET, PASSWORD, encodeURIComponent(PASSWORD), "hunter2"])
      expect(text).not.toContain(leaked);
    expect(text).not.toContain(btoa(`bob:${PASSWORD}`));
    const ex = got.logs.find((r) => r.level === "exception");
    expect(ex?.message).toBe("Error: upstream refused [redacted]");
    expect(ex?.stack).toBeDefined();
  });

  // WAS A HOLE, FIXED (medium): a writeOnly setting of type object or array is redacted only as its whole
  // JSON (secretValuesOf: JSON.stringify(v)); its members — a DB password inside `db`, one key of
  // `keys` — are logged in clear. The config schema allows writeOnly on any top-level property.
  it("a member of a writeOnly object/array setting is redacted", async () => {
    const { text } = await logged("/object-setting");
    expect(text).not.toContain(DB_PASSWORD);
    expect(text).not.toContain(KEY_IN_LIST);
  });

  // WAS A HOLE, FIXED (low-medium): the redactor knows raw, JSON-escaped and encodeURIComponent forms, not the
  // form encoding URLSearchParams uses (space → "+", and ! ' ( ) ~ percent-encoded). Logging the
  // URL one is about to fetch leaks a writeOnly passphrase put in `?key=`.
  it("a writeOnly value in a URLSearchParams query string is redacted", async () => {
    const { text } = await logged("/query-string");
    expect(text).not.toContain("correct+horse+battery");
  });

  // WAS A HOLE, FIXED (medium): the password-pair shape needs `"password":` with plain quotes; a JSON body
  // logged inside an object (`{ body: JSON.stringify(creds) }`, the usual fetch init) is escaped
  // once more (`\"password\":\"…\"`) and the end user's password — another party's credential,
  // not an installation secret — is stored in clear.
  it("a password-like pair inside a logged JSON string is redacted", async () => {
    const { text } = await logged("/double-json", {
      json: { username: "alice", password: END_USER_PASSWORD },
    });
    expect(text).not.toContain(END_USER_PASSWORD);
  });

  // WAS A HOLE, FIXED (medium): formatMessage cuts a line at 4×MAX_MESSAGE (8000) characters *before*
  // redaction; a secret straddling that cut is no longer a whole needle, and since each redacted
  // copy shrinks to "[redacted]" the fragment lands inside the MAX_MESSAGE kept. Logging a list
  // that holds a long credential many times leaks the first ~70 characters of it.
  it("no fragment of a secret survives the pre-redaction cut", async () => {
    const { text } = await logged("/repeated");
    expect(text).not.toContain(LONG.slice(0, 24));
  });

  // WAS A HOLE, FIXED (medium): needles are the stored value byte for byte. A secret pasted with a trailing
  // newline (`echo tok | …`, a copied line) is used trimmed by any sensible plugin, and the
  // trimmed value is not redacted.
  it("a secret the plugin trims before using it is redacted", async () => {
    const { text } = await logged("/trimmed", {}, `${SECRET}\n`);
    expect(text).not.toContain(SECRET);
  });

  // WAS A HOLE, FIXED (low-medium): the password-pair shape knows `password|passwd|pass|secret|token|…`
  // followed by `:` or `=`. The way careless code most often logs a credential — as a label and
  // a value, `console.log("password", pw)` — and the common names `passphrase` and `pwd` escape it.
  it("password-like pairs in the usual careless shapes are redacted", () => {
    const pw = END_USER_PASSWORD;
    const lines = [
      ["password", pw],
      [{ user: "alice", passphrase: pw }],
      [{ user: "alice", pwd: pw }],
    ];
    const out = logRecords(
      [{ logs: lines.map((message, i) => ({ timestamp: i + 1, level: "log", message })) }],
      [],
    );
    for (const r of out) expect(r.message).not.toContain(pw);
  });

  // HOLE (low, open): a trace is redacted with the secrets of the installation *when the trace is
  // filed*, not those the invocation ran with. A trace of the old revision (the dispatch tail,
  // the host forward and Loader tails all arrive after the call) filed after a rotation shows the
  // previous secret in clear. (The per-isolate spec cache, 10 s, gives the converse in
  // production: a stale isolate redacts with the old secret while the new one is logged.)
  it.fails("a trace filed after a secret rotation does not show the previous secret", async () => {
    const a = await publisher();
    const inst = await install(a);
    const patched = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { secrets: { API_TOKEN: "tok_live_rotated000001" } },
    });
    expect(patched.status).toBe(200);
    await worker.tail(
      [
        {
          scriptName: "atoll-old-revision",
          dispatchNamespace: env.ATOLL_DISPATCH_NAMESPACE,
          scriptTags: ["atoll", installationTag(inst.id)],
          eventTimestamp: Date.now(),
          outcome: "ok",
          logs: [{ timestamp: Date.now(), level: "log", message: ["calling with", SECRET] }],
          exceptions: [],
        } as unknown as TraceItem,
      ],
      env,
    );
    expect(JSON.stringify(await logsOf(a, inst.id))).not.toContain(SECRET);
  });
});

describe("promise 1, beyond the logs route: the same exception elsewhere", () => {
  // WAS A HOLE, FIXED (high): the exception a plugin did not catch is redacted in its logs, but the 502 the
  // caller gets quotes it raw: invoke.ts puts `The plugin threw an error: ${message.slice(0, 300)}`
  // in the problem's public detail. Any holder of a `plugins:call` key (a narrow member or
  // service key, an OAuth client; for an app, its users' clients) reads the installation's secret
  // that only its admins could set and that the logs route carefully hides.
  it("a caller with only plugins:call never sees the plugin's secret in a 502", async () => {
    const a = await publisher();
    const inst = await install(a);
    const created = await call("/v1/api-keys", {
      method: "POST",
      key: a.apiKey,
      json: { name: "caller", scopes: ["plugins:call"] },
    });
    expect(created.status).toBe(201);
    const callerKey = ((await created.json()) as { key: string }).key;
    const res = await call(`${inst.endpoint}/held`, { key: callerKey });
    expect(res.status).toBe(502);
    expect(JSON.stringify(await problem(res))).not.toContain(SECRET);
  });

  // WAS A HOLE, FIXED (medium): the same message, whole, is the 502's `internal` detail, which onError writes
  // to the gateway's own console ("request failed"), i.e. the platform's Workers Logs / local
  // terminal, unredacted. (workerd also prints the plugin's uncaught exception with its stack on
  // the local platform's stderr.)
  it("the gateway's own error log never shows the plugin's secret", async () => {
    const a = await publisher();
    const inst = await install(a);
    const seen: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      seen.push(args.map(String).join(" "));
    });
    try {
      expect((await call(`${inst.endpoint}/held`, { key: a.apiKey })).status).toBe(502);
    } finally {
      spy.mockRestore();
    }
    expect(seen.some((l) => l.includes("request failed"))).toBe(true);
    expect(seen.join("\n")).not.toContain(SECRET);
  });
});

describe("promise 3: logging cannot slow the gateway", () => {
  const line = "eyJ-".repeat(2_000); // 8000 characters, the most formatMessage keeps

  // WAS A HOLE, FIXED (high for availability): the JWT shape /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/ backtracks
  // quadratically on "eyJ-eyJ-…" (every "-eyJ" is a new start that scans to the end), and every
  // record is redacted *before* the per-invocation bound is applied. ~15-30 ms of gateway CPU
  // per 8 kB line. The runtime caps a trace's console output (measured in this review: ~0.7 s of gateway
  // time for 150 such lines), which is still >10x a plugin's default 50 ms CPU limit, per call, in
  // the gateway's tail (in production: the dispatch tail consumer, shared by all installations).
  // The host forward (POST /__host/logs) takes up to 4 MB per call, so this pure bound matters.
  it("redacting one invocation of 100 hostile lines takes well under a second", () => {
    const t = performance.now();
    logRecords(
      [
        {
          logs: Array.from({ length: 100 }, (_, i) => ({
            timestamp: i,
            level: "log",
            message: line,
          })),
        },
      ],
      [],
    );
    expect(performance.now() - t).toBeLessThan(500);
  });

  // WAS A HOLE, FIXED (high, same root): an exception's message is not bounded before redaction at all (only
  // its stack is, at 16000), so a single thrown error with a long message costs seconds.
  it("redacting one long exception message is bounded", () => {
    const t = performance.now();
    logRecords(
      [
        {
          exceptions: [{ timestamp: 1, name: "Error", message: "eyJ-".repeat(16_000) /* 64 kB */ }],
        },
      ],
      [],
    );
    expect(performance.now() - t).toBeLessThan(500);
  });

  // The same, end to end, through the Worker Loader's LogTail: the call returns at once, then the
  // gateway spends seconds on its trace. (Console lines are capped by the runtime's trace size,
  // an exception's message is not.)
  it("a plugin throwing a 100 kB hostile message costs the gateway's tail under a second", async () => {
    const a = await publisher();
    const inst = await install(a);
    const t = performance.now();
    await call(`${inst.endpoint}/hostile-exception`, { key: a.apiKey });
    await until(async () => ((await logsOf(a, inst.id)).logs.length > 0 ? true : null), 60_000);
    expect(performance.now() - t).toBeLessThan(1_000);
  }, 90_000);

  it("held: however many lines an invocation writes, at most 100 records are stored", () => {
    const many = Array.from({ length: 5_000 }, (_, i) => ({
      timestamp: i,
      level: "log",
      message: `line ${i}`,
    }));
    const out = logRecords([{ logs: many }], []);
    expect(out).toHaveLength(100);
    expect(out.at(-1)?.message).toMatch(/4901 more records/);
  });
});

describe("promise 3: age", () => {
  // WAS A HOLE, FIXED (low): the 7-day age bound is applied only when the installation writes again
  // (appendLogs trims in its batch) and never when reading or on a schedule: an installation that
  // logged once and then went quiet serves — and keeps — its records for ever, against the
  // route's own documentation ("none older than 7 days").
  it("a record older than 7 days is not served, though nothing was logged since", async () => {
    const a = await publisher();
    const inst = await install(a);
    const eightDaysAgo = Date.now() - LOGS_MAX_AGE_MS - 24 * 3600 * 1000;
    // Written when it was fresh: as the trace of an invocation eight days ago was.
    await appendLogs(
      getDb(env.DB),
      inst.id,
      [{ at: eightDaysAgo, level: "log", message: "stale" }],
      eightDaysAgo,
    );
    expect((await logsOf(a, inst.id)).logs.map((r) => r.message)).not.toContain("stale");
  });
});

describe("POST /__host/logs", () => {
  const token = (installationId: string) =>
    seal(env.ATOLL_HOST_SECRET ?? "", { kind: "logs", exp: Date.now() + 60_000, installationId });
  const forward = (body: Record<string, unknown>) => hostRelay("/__host/logs", body);

  // WAS A HOLE, FIXED (low): the route reads and parses the whole body (up to any size: `c.req.text()` before
  // the 4 MB check) and validates it before it looks at the token, so a caller without the host
  // secret gets 400/413 work done and a bare `{error}` JSON rather than a 403 problem document.
  it("answers a caller without a sealed message 403 with a problem, whatever its body", async () => {
    const res = await forward({ token: "", installationId: "ins_x", traces: "not an array" });
    expect(res.status).toBe(403);
    await problem(res);
  });

  // WAS A HOLE, FIXED (low, local backend only): the local host's forward is all-or-nothing: one invocation
  // with more than 2000 console lines (or a 32 kB exception message) is refused with 400 and its
  // whole trace — the exception the developer looks for included — is lost, whereas the Loader
  // and dispatch backends keep 99 records and a "dropped" note.
  it("a chatty invocation forwarded by the local host keeps its exception", async () => {
    const a = await publisher();
    const inst = await install(a);
    const logs = Array.from({ length: 2_001 }, (_, i) => ({
      timestamp: i,
      level: "log",
      message: "x",
    }));
    const res = await forward({
      token: await token(inst.id),
      installationId: inst.id,
      traces: [
        {
          outcome: "exception",
          logs,
          exceptions: [{ timestamp: 1, name: "Error", message: "the bug" }],
        },
      ],
    });
    expect(res.status).toBe(204);
    expect((await logsOf(a, inst.id)).logs.some((r) => r.message === "Error: the bug")).toBe(true);
  });

  // WAS A HOLE, FIXED (low; needs the host secret): timestamps are taken as given. A record `at` 1e17 makes
  // `new Date(at).toISOString()` throw, and GET …/logs answers 500 (not the OpenAPI's shape)
  // until 1000 newer records push it out — the age trim never removes a future record.
  it("a record with an out-of-range timestamp cannot break GET …/logs", async () => {
    const a = await publisher();
    const inst = await install(a);
    const res = await forward({
      token: await token(inst.id),
      installationId: inst.id,
      traces: [
        { logs: [{ timestamp: 1e17, level: "log", message: "from the future" }], exceptions: [] },
      ],
    });
    expect(res.status).toBe(204);
    const read = await call(`/v1/installations/${inst.id}/logs`, { key: a.apiKey });
    expect(read.status).toBe(200);
  });

  it("held: a still-valid sealed message files nothing once its installation is uninstalled", async () => {
    const a = await publisher();
    const inst = await install(a);
    const sealed = await token(inst.id);
    expect(
      (await call(`/v1/installations/${inst.id}`, { method: "DELETE", key: a.apiKey })).status,
    ).toBe(204);
    const res = await forward({
      token: sealed,
      installationId: inst.id,
      traces: [
        { logs: [{ timestamp: Date.now(), level: "log", message: "ghost" }], exceptions: [] },
      ],
    });
    expect(res.status).toBe(204);
    const left = await env.DB.prepare(
      "SELECT count(*) AS n FROM installation_logs WHERE installation_id = ?",
    )
      .bind(inst.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe("promise 2: one installation's trace is filed under it alone", () => {
  it("held: two installations of one package (one sha256) each see only their own visits, redacted with their own secrets", async () => {
    const a = await publisher();
    const zip = rawPackage(a.slug, CARELESS, { permissions: ["secrets:API_TOKEN"] });
    const dev = await publishAndInstall(a, zip, {
      environment: "development",
      secrets: { API_TOKEN: "tok_live_devdevdev0001" },
    });
    const plugin = dev.plugin;
    const res = await call("/v1/installations", {
      method: "POST",
      key: a.apiKey,
      json: {
        plugin,
        environment: "production",
        grants: ["secrets:API_TOKEN"],
        secrets: { API_TOKEN: "tok_live_prodprod0002" },
      },
    });
    expect(res.status).toBe(201);
    const prod = (await res.json()) as { id: string; endpoint: string };
    await call(`${dev.endpoint}/dev-visit`, { key: a.apiKey });
    await call(`${prod.endpoint}/prod-visit`, { key: a.apiKey });
    const mine = async (id: string) =>
      until(async () => {
        const l = await logsOf(a, id);
        return l.logs.length > 0 ? l.logs.map((r) => r.message) : null;
      });
    expect(await mine(dev.id)).toEqual(["visit /dev-visit [redacted]"]);
    expect(await mine(prod.id)).toEqual(["visit /prod-visit [redacted]"]);
  });
});

describe("promise 5: the production tail consumer files only under the tagged installation", () => {
  const trace = (tags: string[], namespace: string | undefined, message: string) =>
    ({
      scriptName: "atoll-x-1",
      ...(namespace === undefined ? {} : { dispatchNamespace: namespace }),
      scriptTags: tags,
      eventTimestamp: Date.now(),
      outcome: "ok",
      logs: [{ timestamp: Date.now(), level: "log", message: [message] }],
      exceptions: [],
    }) as unknown as TraceItem;

  it("held: look-alike tags, a gone installation and another org's tag never mix", async () => {
    const a = await publisher();
    const mine = await install(a);
    const b = await publisher();
    const theirs = await install(b);
    await call(`/v1/installations/${theirs.id}`, { method: "DELETE", key: b.apiKey });
    const ns = env.ATOLL_DISPATCH_NAMESPACE;
    await worker.tail(
      [
        trace([installationTag(mine.id).replace("installation", "Installation")], ns, "case"),
        trace([installationTag(mine.id).replace("-", "- ")], ns, "space"),
        trace([`x${installationTag(mine.id)}`], ns, "prefix"),
        // The id as it is (upper case), and the old `installation:<id>` form: not the encoding.
        trace([`installation-${mine.id}`], ns, "raw id"),
        trace([`installation:${mine.id}`], ns, "old form"),
        trace([installationTag(theirs.id)], ns, "gone"),
        trace([installationTag(mine.id)], ns, "mine"),
      ],
      env,
    );
    expect((await logsOf(a, mine.id)).logs.map((r) => r.message)).toEqual(["mine"]);
    const gone = await env.DB.prepare(
      "SELECT count(*) AS n FROM installation_logs WHERE installation_id = ?",
    )
      .bind(theirs.id)
      .first<{ n: number }>();
    expect(gone?.n).toBe(0);
  });
});

describe("promise 4: bad input to GET …/logs", () => {
  it.each([
    ["?after=1.5", 400],
    ["?after=99999999999999999999", 400],
    ["?limit=abc", 400],
    ["?limit=1e9", 400],
  ])("held: %s is a %i problem", async (query, status) => {
    const a = await publisher();
    const inst = await install(a);
    const res = await call(`/v1/installations/${inst.id}/logs${query}`, { key: a.apiKey });
    expect(res.status).toBe(status);
    expect((await problem(res)).status).toBe(status);
  });

  it("held: a malformed or unknown id is a 400 / 404 problem", async () => {
    const a = await publisher();
    const bad = await call("/v1/installations/not-an-id/logs", { key: a.apiKey });
    expect(bad.status).toBe(400);
    await problem(bad);
    const unknown = await call("/v1/installations/ins_00000000000000000000/logs", {
      key: a.apiKey,
    });
    expect(unknown.status).toBe(404);
    await problem(unknown);
  });
});
