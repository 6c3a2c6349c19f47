/** The sandbox's pure trust-boundary modules: egress targets, caller paths, sealed host messages. */
import { describe, expect, it } from "vitest";
import { outboundFetch } from "../../workers/outbound/src/index";
import { SubrequestBudgets, egressTarget } from "../../src/runtime/egress-policy";
import {
  macOf,
  open,
  openCall,
  seal,
  type InvokeMessage,
  type SpecCache,
} from "../../src/runtime/host-auth";
import type { PluginSpec } from "../../src/runtime/spec";
import { pluginPath, pluginUrl } from "../../src/runtime/plugin-path";

describe("egressTarget", () => {
  it.each([
    "https://api.stripe.com//127.0.0.1:8787/healthz",
    "https://api.stripe.com/\\127.0.0.1:8787/healthz",
    "https://api.stripe.com//evil.example/x",
    "https://api.stripe.com/%2F%2Fevil.example/x",
    "https://api.stripe.com/..//evil.example/x",
  ])("keeps %s on the granted origin", (input) => {
    const t = egressTarget(new URL(input), ["api.stripe.com"]);
    expect(t.ok).toBe(true);
    if (t.ok) expect(t.target.origin).toBe("https://api.stripe.com");
  });

  it("uses the override's origin for a granted host, never one from the path", () => {
    const t = egressTarget(
      new URL("https://api.stripe.com//127.0.0.1:8787/healthz?x=1"),
      ["api.stripe.com"],
      { "api.stripe.com": "http://127.0.0.1:9000" },
    );
    expect(t.ok && t.target.href).toBe("http://127.0.0.1:9000//127.0.0.1:8787/healthz?x=1");
  });

  it("refuses what the policy refuses", () => {
    expect(egressTarget(new URL("https://evil.example/"), ["api.stripe.com"]).ok).toBe(false);
    expect(egressTarget(new URL("http://api.stripe.com/"), ["api.stripe.com"]).ok).toBe(false);
  });
});

describe("the production outbound Worker", () => {
  it("fetches a rebased path on the granted origin, not on loopback", async () => {
    const seen: string[] = [];
    const fake = (async (req: Request) => {
      seen.push(req.url);
      return new Response("ok");
    }) as typeof fetch;
    await outboundFetch(
      new Request("https://api.stripe.com//127.0.0.1:8787/healthz"),
      { hosts: "api.stripe.com" },
      fake,
    );
    expect(seen).toEqual(["https://api.stripe.com//127.0.0.1:8787/healthz"]);
    expect(new URL(seen[0] ?? "").host).toBe("api.stripe.com");
  });
});

describe("SubrequestBudgets", () => {
  it("gives each call its cap, shares it among concurrent calls, and refuses outside calls", () => {
    const b = new SubrequestBudgets();
    expect(b.spend("i")).toBe(false);
    const end1 = b.begin("i", 2, 10_000);
    expect([b.spend("i"), b.spend("i"), b.spend("i")]).toEqual([true, true, false]);
    const end2 = b.begin("i", 2, 10_000);
    expect([b.spend("i"), b.spend("i"), b.spend("i")]).toEqual([true, true, false]);
    end1();
    end1();
    end2();
    expect(b.spend("i")).toBe(false);
    const end3 = b.begin("i", 1, 10_000);
    expect(b.spend("i")).toBe(true);
    end3();
  });

  it("stops counting a call that never ended once its deadline passes", () => {
    let now = 0;
    const b = new SubrequestBudgets(() => now);
    for (let i = 0; i < 6; i++) b.begin("i", 3, 1_000); // abandoned: their ends never run
    now = 1_001;
    const end = b.begin("i", 3, 1_000);
    expect([b.spend("i"), b.spend("i"), b.spend("i"), b.spend("i")]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    end();
    now = 5_000;
    expect(b.spend("i")).toBe(false);
  });
});

describe("pluginPath", () => {
  it.each(["/", "", "/hello/Ada", "/files/a%20b/c", "/trailing/", "/%E2%9C%93", "/atoll/__atoll"])(
    "passes %s",
    (p) => {
      expect(pluginPath(p).ok).toBe(true);
    },
  );
  it.each([
    "//x/__atoll/cleanup",
    "/a//b",
    "/\\__atoll",
    "/%2F__atoll",
    "/%2f",
    "/%5C",
    "/%5c",
    "/.",
    "/..",
    "/%2e",
    "/%2E%2e",
    "/a/./b",
    "/__atoll/cleanup",
    "/__ATOLL/x",
    "/%5F%5Fatoll/x",
    "/__atoll%2Fcleanup",
    "/__atollx",
    "/%00",
    "/%0a",
    "/%zz",
    "x",
  ])("refuses %s", (p) => {
    expect(pluginPath(p).ok).toBe(false);
  });
  it("builds the plugin URL from fields on the fixed origin", () => {
    expect(pluginUrl("https://plugin.atoll.internal", "//evil.example/x", "?q=1").href).toBe(
      "https://plugin.atoll.internal//evil.example/x?q=1",
    );
  });
});

describe("sealed host messages", () => {
  const secret = "s".repeat(43);
  const msg = { kind: "clear" as const, exp: Date.now() + 10_000, installationId: "ins_a" };

  it("opens what was sealed with the same secret", async () => {
    const opened = await open(secret, await seal(secret, msg), "clear");
    expect(opened).toEqual({ ok: true, message: msg });
  });

  it.each([
    [
      "another secret",
      async () => open("t".repeat(43), await seal(secret, msg), "clear"),
      "bad-mac",
    ],
    [
      "a changed payload",
      async () => {
        const [, mac] = (await seal(secret, msg)).split(".");
        const forged = btoa(JSON.stringify({ ...msg, installationId: "ins_b" }))
          .replace(/=+$/, "")
          .replace(/\+/g, "-")
          .replace(/\//g, "_");
        return open(secret, `${forged}.${mac}`, "clear");
      },
      "bad-mac",
    ],
    ["another kind", async () => open(secret, await seal(secret, msg), "invoke"), "wrong-kind"],
    [
      "an expired message",
      async () => open(secret, await seal(secret, { ...msg, exp: Date.now() - 1 }), "clear"),
      "expired",
    ],
    ["garbage", async () => open(secret, "not a token", "clear"), "malformed"],
    ["nothing", async () => open(secret, null, "clear"), "missing"],
    ["an empty secret", async () => open("", "a.b", "clear"), "missing"],
  ])("refuses %s", async (_label, attempt, reason) => {
    expect(await attempt()).toEqual({ ok: false, reason });
  });

  it("refuses to seal without a secret", async () => {
    await expect(seal("", msg)).rejects.toThrow();
  });
});

describe("a plugin host call: one sealed invoke bound to one sealed spec", () => {
  const secret = "s".repeat(43);
  const now = Date.now();
  const spec = (installationId: string) =>
    ({ installationId, secrets: { KEY: "v" } }) as unknown as PluginSpec;
  const specMessage = (installationId: string, exp = now + 60_000) =>
    seal(secret, { kind: "spec", exp, spec: spec(installationId) });
  const invokeFor = (specToken: string, over: Partial<InvokeMessage> = {}) =>
    seal(secret, {
      kind: "invoke",
      exp: now + 10_000,
      nonce: "n",
      method: "GET",
      path: "/",
      search: "",
      deadlineMs: 1000,
      specMac: macOf(specToken),
      ...over,
    });

  it("runs the spec the invoke names, opening it once", async () => {
    const cache: SpecCache = new Map();
    const a = await specMessage("ins_a");
    for (let i = 0; i < 3; i++) {
      const call = await openCall(secret, await invokeFor(a), a, "GET", cache, now);
      expect(call.ok && call.spec.spec.installationId).toBe("ins_a");
    }
    expect(cache.size).toBe(1);
  });

  it("refuses an invoke beside another installation's spec, even one the host already holds", async () => {
    const cache: SpecCache = new Map();
    const a = await specMessage("ins_a");
    const b = await specMessage("ins_b");
    expect((await openCall(secret, await invokeFor(b), b, "GET", cache, now)).ok).toBe(true);
    expect(await openCall(secret, await invokeFor(a), b, "GET", cache, now)).toEqual({
      ok: false,
      reason: "unbound",
    });
  });

  it.each([
    ["no spec", async () => [await invokeFor(await specMessage("ins_a")), null]],
    [
      "a spec with a forged payload under the named MAC",
      async () => {
        const a = await specMessage("ins_a");
        const forged = `${(await specMessage("ins_b")).split(".")[0]}.${macOf(a)}`;
        return [await invokeFor(a), forged];
      },
    ],
    [
      "an invoke sealed as the spec",
      async () => {
        const a = await specMessage("ins_a");
        return [a, a];
      },
    ],
  ])("refuses %s", async (_label, make) => {
    const [auth, specToken] = (await make()) as [string, string | null];
    const call = await openCall(secret, auth, specToken, "GET", new Map(), now);
    expect(call.ok).toBe(false);
  });

  it("refuses another method than the invoke was sealed for", async () => {
    const a = await specMessage("ins_a");
    expect(await openCall(secret, await invokeFor(a), a, "POST", new Map(), now)).toEqual({
      ok: false,
      reason: "method",
    });
  });

  it("refuses a spec past its expiry, cached or not", async () => {
    const cache: SpecCache = new Map();
    const a = await specMessage("ins_a", now + 1_000);
    expect((await openCall(secret, await invokeFor(a), a, "GET", cache, now)).ok).toBe(true);
    const later = now + 2_000;
    const call = await openCall(
      secret,
      await invokeFor(a, { exp: later + 10_000 }),
      a,
      "GET",
      cache,
      later,
    );
    expect(call).toEqual({ ok: false, reason: "spec" });
  });
});
