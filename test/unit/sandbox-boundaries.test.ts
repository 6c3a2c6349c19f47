/** The sandbox's pure trust-boundary modules: egress targets, caller paths (sealed host messages: host-boundary.test.ts). */
import { describe, expect, it } from "vitest";
import { outboundFetch } from "../../workers/outbound/src/index";
import { SubrequestBudgets, egressTarget } from "../../src/runtime/egress-policy";
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
