/**
 * The boundary between the gateway and the local plugin host (src/runtime/host-auth.ts,
 * service-host.ts, workers/plugin-host/src/index.ts), attacked by someone who reads and writes
 * loopback traffic but has no host secret: captured messages must be unreadable, single-use and
 * unchangeable, and bound to what they were sealed for.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  NonceLedger,
  callDigest,
  open,
  openCall,
  openRelay,
  seal,
  sealInvoke,
  sealRelay,
  type SpecCache,
} from "../../src/runtime/host-auth";
import {
  HOST_AUTH_HEADER,
  HOST_ERROR_HEADER,
  HOST_SPEC_HEADER,
  ServiceHost,
} from "../../src/runtime/service-host";
import type { PluginSpec } from "../../src/runtime/spec";

const secret = "r".repeat(43);
const SECRET_VALUE = "sk_live_top_secret";
const spec = (installationId: string, grants: string[] = ["integrations:github"]) =>
  ({
    installationId,
    revision: 3,
    grants,
    secrets: { API_KEY: SECRET_VALUE },
  }) as unknown as PluginSpec;

interface Wire {
  url: string;
  method: string;
  headers: Headers;
  body: Uint8Array | null;
}

/**
 * Runs gateway calls through one ServiceHost against a fake host that answers `answer` (by
 * default: opens each call as the real host does, and answers 200); returns what went on the wire.
 */
function gateway(answer?: (w: Wire) => Promise<Response> | Response) {
  const wire: Wire[] = [];
  const cache: SpecCache = new Map();
  const ledger = new NonceLedger();
  vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
    const w: Wire = {
      url,
      method: String(init.method),
      headers: new Headers(init.headers),
      body: init.body ? new Uint8Array(init.body as Uint8Array) : null,
    };
    wire.push(w);
    if (answer) return answer(w);
    const call = await openCall(secret, callOf(w), cache, ledger);
    if (!call.ok && call.reason === "unknown-spec")
      return Response.json(
        { kind: "unknown-spec", message: "" },
        { status: 409, headers: { [HOST_ERROR_HEADER]: call.nonce } },
      );
    return new Response(call.ok ? "ran" : call.reason, { status: call.ok ? 200 : 403 });
  });
  const host = new ServiceHost("http://127.0.0.1:1", secret);
  const call = (s: PluginSpec, init: RequestInit = { method: "POST", body: '{"n":1}' }) =>
    host.fetch(
      s,
      new Request("https://gw.example/p/run?x=1", {
        ...init,
        headers: {
          "x-atoll-subject": "user_alice",
          "x-atoll-organization": "org_a",
          "content-type": "application/json",
        },
      }),
    );
  return { wire, call, cache, ledger };
}
const callOf = (w: Wire) => ({
  auth: w.headers.get(HOST_AUTH_HEADER),
  spec: w.headers.get(HOST_SPEC_HEADER),
  method: w.method,
  headers: w.headers,
  body: w.body,
});

afterEach(() => vi.unstubAllGlobals());

describe("sealed host messages", () => {
  const msg = {
    kind: "clear" as const,
    exp: Date.now() + 10_000,
    nonce: "n1",
    installationId: "ins_a",
  };

  it("opens what was sealed with the same secret, and nothing of it is readable", async () => {
    const token = await seal(secret, msg);
    expect(await open(secret, token, "clear")).toEqual({ ok: true, message: msg });
    for (const part of token.split("."))
      expect(Buffer.from(part, "base64url").toString("latin1")).not.toContain("ins_a");
  });

  it.each([
    ["another secret", async () => open("t".repeat(43), await seal(secret, msg), "clear")],
    [
      "a flipped byte",
      async () => {
        const token = await seal(secret, msg);
        const at = token.length - 5;
        const flipped = token[at] === "A" ? "B" : "A";
        return open(secret, token.slice(0, at) + flipped + token.slice(at + 1), "clear");
      },
    ],
    ["another kind", async () => open(secret, await seal(secret, msg), "invoke")],
    [
      "an expired message",
      async () => open(secret, await seal(secret, { ...msg, exp: Date.now() - 1 }), "clear"),
    ],
    ["garbage", async () => open(secret, "not a token", "clear")],
    ["an old HMAC-style token", async () => open(secret, "eyJraW5kIjoiY2xlYXIifQ.abc", "clear")],
    ["nothing", async () => open(secret, null, "clear")],
    ["an empty secret", async () => open("", "a.b", "clear")],
  ])("refuses %s", async (_label, attempt) => {
    expect((await attempt()).ok).toBe(false);
  });

  it("refuses to seal without a secret", async () => {
    await expect(seal("", msg)).rejects.toThrow();
  });

  it("a nonce is admitted once, forgotten only after its message expired", () => {
    const ledger = new NonceLedger();
    const now = 1_000_000;
    expect(ledger.admit("a", now + 10, now)).toBe(true);
    expect(ledger.admit("a", now + 10, now + 5)).toBe(false);
    expect(ledger.admit("", now + 10, now)).toBe(false);
    expect(ledger.admit("b", now + 100, now + 20)).toBe(true);
    expect(ledger.size).toBe(1); // "a" expired and was dropped
  });

  it("a full ledger forgets its oldest nonces, never refuses new ones", () => {
    const ledger = new NonceLedger(3);
    for (const n of ["a", "b", "c", "d"]) expect(ledger.admit(n, 10_000, 0)).toBe(true);
    expect(ledger.size).toBe(3);
  });
});

describe("host boundary: what a loopback observer captures", () => {
  it("reads none of the installation's secrets, nor the grant and logs tokens", async () => {
    const g = gateway();
    expect((await g.call(spec("inst_a"))).status).toBe(200);
    const [first] = g.wire;
    const onWire = [...first!.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
    const decoded = [...first!.headers.values()]
      .flatMap((v) => v.split("."))
      .map((p) => Buffer.from(p, "base64url").toString("latin1"))
      .join("\n");
    for (const text of [onWire, decoded]) {
      expect(text).not.toContain(SECRET_VALUE);
      expect(text).not.toContain("inst_a");
      expect(text).not.toContain('"grant"');
    }
    expect(first!.headers.get(HOST_SPEC_HEADER)).toBeTruthy();
  });

  it("sends the spec once: later calls name it by id only", async () => {
    const g = gateway();
    for (let i = 0; i < 3; i++) expect((await g.call(spec("inst_a"))).status).toBe(200);
    // One spec object per revision: the gateway keeps sealing state on it.
    const s = spec("inst_b");
    for (let i = 0; i < 3; i++) expect((await g.call(s)).status).toBe(200);
    const withSpec = g.wire.filter((w) => w.headers.has(HOST_SPEC_HEADER)).length;
    expect(withSpec).toBe(4); // three fresh inst_a objects, one inst_b object
    expect(g.cache.size).toBe(4);
  });

  it("a host that lost the spec (recycled) asks for it, and the call goes again with it", async () => {
    const g = gateway();
    const s = spec("inst_a");
    expect((await g.call(s)).status).toBe(200);
    g.cache.clear();
    const res = await g.call(s, { method: "PUT", body: "again" });
    expect(res.status).toBe(200);
    const [, lost, resent] = g.wire;
    expect(lost!.headers.has(HOST_SPEC_HEADER)).toBe(false);
    expect(resent!.headers.has(HOST_SPEC_HEADER)).toBe(true);
    expect(new TextDecoder().decode(resent!.body!)).toBe("again");
  });

  it("a captured call cannot be replayed: its invoke is single-use", async () => {
    const g = gateway();
    await g.call(spec("inst_a"));
    const replay = await openCall(secret, callOf(g.wire[0]!), g.cache, g.ledger);
    expect(replay).toEqual({ ok: false, reason: "replay" });
  });

  it.each([
    ["another subject", (w: Wire) => w.headers.set("x-atoll-subject", "user_mallory")],
    ["another organization", (w: Wire) => w.headers.set("x-atoll-organization", "org_b")],
    ["a removed header", (w: Wire) => w.headers.delete("x-atoll-subject")],
    ["another body", (w: Wire) => (w.body = new TextEncoder().encode('{"n":2}'))],
    ["no body", (w: Wire) => (w.body = null)],
  ])("a call changed in flight (%s) is refused", async (_label, change) => {
    const cache: SpecCache = new Map();
    const ledger = new NonceLedger();
    const g = gateway(async (w) => {
      change(w);
      const call = await openCall(secret, callOf(w), cache, ledger);
      return new Response(call.ok ? "ran" : call.reason, { status: call.ok ? 200 : 403 });
    });
    const res = await g.call(spec("inst_a"));
    expect(res.status).toBe(403);
    expect(await res.text()).toBe("tampered");
  });

  it("a header added in flight never reaches the plugin", async () => {
    const cache: SpecCache = new Map();
    let seen: Headers | undefined;
    const g = gateway(async (w) => {
      w.headers.set("x-atoll-caller-scopes", "admin");
      w.headers.set("authorization", "Bearer stolen");
      const call = await openCall(secret, callOf(w), cache, new NonceLedger());
      if (call.ok) seen = call.headers;
      return new Response("ran");
    });
    await g.call(spec("inst_a"));
    expect(seen?.get("x-atoll-subject")).toBe("user_alice");
    expect(seen?.has("x-atoll-caller-scopes")).toBe(false);
    expect(seen?.has("authorization")).toBe(false);
  });
});

describe("host boundary: splices and forgeries", () => {
  const now = Date.now();
  const specMessage = (installationId: string, id = `id_${installationId}`, exp = now + 60_000) =>
    seal(secret, { kind: "spec", exp, id, spec: spec(installationId) });
  const call = async (specId: string, specToken: string | null, method = "GET") => {
    const headers = new Headers({ "x-atoll-subject": "user_alice" });
    const { token } = await sealInvoke(
      secret,
      {
        specId,
        method,
        url: new URL("https://p/x"),
        headers,
        body: null,
        deadlineAt: Date.now() + 1000,
      },
      now,
    );
    return { auth: token, spec: specToken, method, headers, body: null };
  };

  it("runs the spec the invoke names, opening it once", async () => {
    const cache: SpecCache = new Map();
    const a = await specMessage("ins_a");
    const ledger = new NonceLedger();
    for (let i = 0; i < 3; i++) {
      const r = await openCall(secret, await call("id_ins_a", a), cache, ledger, now);
      expect(r.ok && r.spec.spec.installationId).toBe("ins_a");
    }
    expect(cache.size).toBe(1);
  });

  it("an invoke for A beside B's spec is refused (unbound), and B's spec is not kept", async () => {
    const cache: SpecCache = new Map();
    const b = await specMessage("ins_b");
    const r = await openCall(secret, await call("id_ins_a", b), cache, new NonceLedger(), now);
    expect(r).toEqual({ ok: false, reason: "unbound" });
    expect(cache.size).toBe(0);
  });

  it("an invoke never runs a held spec of another id", async () => {
    const cache: SpecCache = new Map();
    const ledger = new NonceLedger();
    const b = await specMessage("ins_b");
    expect((await openCall(secret, await call("id_ins_b", b), cache, ledger, now)).ok).toBe(true);
    const r = await openCall(secret, await call("id_ins_a", null), cache, ledger, now);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe("unknown-spec");
  });

  it("a message of one kind is refused as another (invoke as spec, spec as invoke)", async () => {
    const a = await specMessage("ins_a");
    const inv = await call("id_ins_a", a);
    expect(
      (await openCall(secret, { ...inv, spec: inv.auth }, new Map(), new NonceLedger(), now)).ok,
    ).toBe(false);
    expect(
      (await openCall(secret, { ...inv, auth: a }, new Map(), new NonceLedger(), now)).ok,
    ).toBe(false);
  });

  it("another method than the invoke was sealed for is refused", async () => {
    const a = await specMessage("ins_a");
    const inv = await call("id_ins_a", a);
    for (const m of ["POST", "get", "PUT"])
      expect(
        await openCall(secret, { ...inv, method: m }, new Map(), new NonceLedger(), now),
      ).toEqual({ ok: false, reason: "method" });
  });

  it("an expired invoke, or a spec past its expiry, cached or not, is refused", async () => {
    const cache: SpecCache = new Map();
    const ledger = new NonceLedger();
    const a = await specMessage("ins_a", "id_short", now + 1_000);
    expect((await openCall(secret, await call("id_short", a), cache, ledger, now)).ok).toBe(true);
    // The invoke (sealed at `now`) outlives the spec: the cached spec is dropped, not served.
    expect(await openCall(secret, await call("id_short", a), cache, ledger, now + 2_000)).toEqual({
      ok: false,
      reason: "spec",
    });
    expect(cache.size).toBe(0);
    const late = await call("id_short", null);
    expect(await openCall(secret, late, cache, ledger, now + 11_000)).toEqual({
      ok: false,
      reason: "invoke",
    });
  });

  it("the digest covers header names and values unambiguously", async () => {
    const h1 = new Headers({ a: "bc" });
    const h2 = new Headers({ ab: "c" });
    expect(await callDigest(h1, ["a"], null)).not.toBe(await callDigest(h2, ["ab"], null));
    expect(await callDigest(h1, ["a"], null)).not.toBe(
      await callDigest(h1, ["a"], new Uint8Array()),
    );
  });
});

describe("host → gateway relays", () => {
  const grant = () =>
    seal(secret, { kind: "grant", exp: Date.now() + 60_000, installationId: "ins_a", revision: 1 });

  it("opens once, for its path, with a grant inside; the body is not readable", async () => {
    const ledger = new NonceLedger();
    const relay = await sealRelay(secret, "/__host/integrations", await grant(), '{"p":"x"}');
    expect(Buffer.from(relay.split(".")[1]!, "base64url").toString("latin1")).not.toContain('"p"');
    const r = await openRelay(secret, relay, "/__host/integrations", "grant", ledger);
    expect(r.ok && r.message.installationId).toBe("ins_a");
    expect(r.ok && r.body).toBe('{"p":"x"}');
    expect(await openRelay(secret, relay, "/__host/integrations", "grant", ledger)).toEqual({
      ok: false,
      reason: "replay",
    });
  });

  it("is refused on another path, with a token of another kind, or under another secret", async () => {
    const relay = await sealRelay(secret, "/__host/integrations", await grant(), "{}");
    expect((await openRelay(secret, relay, "/__host/logs", "logs", new NonceLedger())).ok).toBe(
      false,
    );
    const logsRelay = await sealRelay(secret, "/__host/logs", await grant(), "{}");
    expect((await openRelay(secret, logsRelay, "/__host/logs", "logs", new NonceLedger())).ok).toBe(
      false,
    );
    const forged = await sealRelay("x".repeat(43), "/__host/logs", await grant(), "{}");
    expect((await openRelay(secret, forged, "/__host/logs", "grant", new NonceLedger())).ok).toBe(
      false,
    );
  });
});
