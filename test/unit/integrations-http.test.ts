import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  backoffMs,
  providerRequest,
  retryAfterMs,
  type Transport,
} from "../../src/integrations/http";
import { applyMapping, checkMapping, MappingRule } from "../../src/integrations/mapping";

/** A scripted provider: each call answers the next response (or throws / hangs). */
function scripted(
  answers: (Response | "throw" | "hang")[],
): Transport & { calls: number; sleeps: number[] } {
  const t = {
    calls: 0,
    sleeps: [] as number[],
    fetch: async (_input: RequestInfo | URL, init?: RequestInit) => {
      const a = answers[t.calls++] ?? new Response("{}", { status: 200 });
      if (a === "throw") throw new Error("connection reset");
      if (a === "hang")
        return new Promise<Response>((_r, reject) =>
          init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
        );
      return a;
    },
    sleep: async (ms: number) => {
      t.sleeps.push(ms);
    },
    random: () => 0.5,
  };
  return t as Transport & { calls: number; sleeps: number[] };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
const OK = z.object({ ok: z.literal(true) });
const PROD = { allowLocal: false };

describe("providerRequest", () => {
  it("retries 5xx and network errors with jittered exponential backoff, then succeeds", async () => {
    const t = scripted([json(500, {}), "throw", json(502, {}), json(200, { ok: true })]);
    const r = await providerRequest(
      { egress: PROD, url: "https://api.provider.com/x", schema: OK },
      t,
    );
    expect(r.ok).toBe(true);
    expect(t.calls).toBe(4);
    expect(t.sleeps).toEqual([
      backoffMs(0, () => 0.5),
      backoffMs(1, () => 0.5),
      backoffMs(2, () => 0.5),
    ]);
    expect(t.sleeps[2]).toBeGreaterThan(t.sleeps[0] ?? 0);
  });

  it("honours Retry-After on 429 and 503", async () => {
    const t = scripted([
      json(429, {}, { "retry-after": "2" }),
      json(503, {}, { "retry-after": "1" }),
      json(200, { ok: true }),
    ]);
    expect(
      (await providerRequest({ egress: PROD, url: "https://api.provider.com/x", schema: OK }, t))
        .ok,
    ).toBe(true);
    expect(t.sleeps).toEqual([2000, 1000]);
  });

  it("hands a Retry-After longer than it will sleep back to the caller", async () => {
    const t = scripted([json(429, { message: "slow down" }, { "retry-after": "120" })]);
    const r = await providerRequest(
      {
        egress: PROD,
        url: "https://api.provider.com/x",
        schema: OK,
        errorMessage: (b) => (b as { message: string }).message,
      },
      t,
    );
    expect(r).toMatchObject({
      ok: false,
      reason: "rate_limited",
      retryAfterMs: 120_000,
      message: "slow down",
    });
    expect(t.calls).toBe(1);
  });

  it("gives up after its retries with the last reason", async () => {
    const t = scripted([json(500, {}), json(500, {}), json(500, {}), json(500, {})]);
    expect(
      await providerRequest(
        { egress: PROD, url: "https://api.provider.com/x", schema: OK, retries: 3 },
        t,
      ),
    ).toMatchObject({ ok: false, reason: "unavailable", status: 500 });
    expect(t.calls).toBe(4);
  });

  it("times out a provider that never answers", async () => {
    const t = scripted(["hang", "hang"]);
    const r = await providerRequest(
      { egress: PROD, url: "https://api.provider.com/x", schema: OK, timeoutMs: 20, retries: 1 },
      t,
    );
    expect(r).toMatchObject({
      ok: false,
      reason: "unavailable",
      message: expect.stringMatching(/no answer within 20 ms/),
    });
  });

  it.each([
    ["malformed JSON", new Response("{nope", { status: 200 }), "malformed"],
    ["a body that fails the schema", json(200, { ok: "yes" }), "malformed"],
    ["401", json(401, {}), "auth"],
    ["400", json(400, {}), "invalid"],
  ] as const)("classifies %s", async (_what, res, reason) => {
    expect(
      await providerRequest(
        { egress: PROD, url: "https://api.provider.com/x", schema: OK, retries: 0 },
        scripted([res]),
      ),
    ).toMatchObject({ ok: false, reason });
  });

  it("refuses an answer larger than its cap", async () => {
    const big = new Response("x".repeat(2000), { status: 200 });
    expect(
      await providerRequest(
        { egress: PROD, url: "https://api.provider.com/x", schema: OK, maxBytes: 1000 },
        scripted([big]),
      ),
    ).toMatchObject({
      ok: false,
      reason: "malformed",
      message: expect.stringMatching(/larger than 1000/),
    });
  });

  it("never lets a known secret into an error message", async () => {
    const t = scripted([json(400, { message: "bad token pat-na1-secret-value" })]);
    const r = await providerRequest(
      {
        egress: PROD,
        url: "https://api.provider.com/x",
        schema: OK,
        errorMessage: (b) => (b as { message: string }).message,
        secrets: ["pat-na1-secret-value"],
      },
      t,
    );
    expect(r.ok ? "" : r.message).toBe("bad token [redacted]");
  });

  it("checks the URL against the egress policy before any fetch", async () => {
    const t = scripted([json(200, { ok: true })]);
    expect(
      await providerRequest(
        { egress: PROD, url: "https://169.254.169.254/latest/meta-data", schema: OK },
        t,
      ),
    ).toMatchObject({ ok: false, reason: "egress" });
    expect(t.calls).toBe(0);
  });

  it("follows a redirect only after the policy allows its Location, dropping credentials across origins", async () => {
    const seen: { url: string; auth: string | null; method: string }[] = [];
    const answers = [
      new Response(null, { status: 307, headers: { location: "https://other.provider.com/y" } }),
      json(200, { ok: true }),
    ];
    const t: Transport = {
      fetch: async (input, init) => {
        seen.push({
          url: String(input),
          auth: new Headers(init?.headers).get("authorization"),
          method: init?.method ?? "GET",
        });
        return answers.shift()!;
      },
      sleep: async () => undefined,
      random: () => 0.5,
    };
    const r = await providerRequest(
      {
        egress: PROD,
        url: "https://api.provider.com/x",
        method: "POST",
        body: "{}",
        headers: { authorization: "Bearer secret-token" },
        schema: OK,
      },
      t,
    );
    expect(r.ok).toBe(true);
    expect(seen).toEqual([
      { url: "https://api.provider.com/x", auth: "Bearer secret-token", method: "POST" },
      { url: "https://other.provider.com/y", auth: null, method: "POST" },
    ]);
  });

  it.each([
    "http://169.254.169.254/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://2130706433/",
    "https://svc.internal/",
    "https://u:p@api.provider.com/",
    "https://api.provider.com:8443/",
    "https://api.provider.com./",
  ])("refuses a redirect to %s without fetching it, and does not retry", async (location) => {
    const t = scripted([
      new Response(null, { status: 302, headers: { location } }),
      json(200, { ok: true }),
    ]);
    const r = await providerRequest(
      { egress: PROD, url: "https://api.provider.com/x", schema: OK },
      t,
    );
    expect(r).toMatchObject({
      ok: false,
      reason: "egress",
      message: expect.stringMatching(/redirect target/),
    });
    expect(r.ok ? "" : r.message).not.toMatch(/u:p/);
    expect(t.calls).toBe(1);
  });

  it("stops after three redirects", async () => {
    const loop = () => new Response(null, { status: 301, headers: { location: "/again" } });
    const t = scripted([loop(), loop(), loop(), loop(), json(200, { ok: true })]);
    expect(
      await providerRequest(
        { egress: PROD, url: "https://api.provider.com/x", schema: OK, retries: 0 },
        t,
      ),
    ).toMatchObject({ ok: false, reason: "invalid", message: expect.stringMatching(/redirects/) });
    expect(t.calls).toBe(4);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("7")).toBe(7000);
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(retryAfterMs("soon")).toBeNull();
  });
});

describe("mappings", () => {
  const rules = z.array(MappingRule).parse([
    { to: "Email", from: "email", transforms: ["trim", "lowercase"] },
    { to: "Name", concat: { from: ["first", "last"] } },
    { to: "LastName", from: "last", default: "Unknown" },
    { to: "Since", from: "created", dateFormat: "date" },
    { to: "City", from: "address.city", transforms: ["uppercase"] },
  ]);

  it("applies paths, concat, defaults, transforms and date formats", () => {
    expect(
      applyMapping(rules, {
        email: "  Ada@Example.COM ",
        first: "Ada",
        last: "",
        created: "1795600800000",
        address: { city: "London" },
      }),
    ).toEqual({
      ok: true,
      fields: {
        Email: "ada@example.com",
        Name: "Ada",
        LastName: "Unknown",
        Since: "2026-11-25",
        City: "LONDON",
      },
    });
  });

  it("fails a record whose date is not a date, or that lacks a required field", () => {
    expect(applyMapping(rules, { created: "yesterday" })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not a date/),
    });
    expect(
      applyMapping([{ to: "LastName", from: "last", transforms: [] }], {}, ["LastName"]),
    ).toMatchObject({ ok: false });
  });

  it("checks fields against what the connectors declare", () => {
    expect(
      checkMapping(
        rules,
        ["email", "first", "last", "created", "address"],
        ["Email", "Name", "LastName", "Since", "City"],
        ["LastName"],
      ),
    ).toEqual([]);
    const errs = checkMapping(
      [{ to: "Nope", from: "missing", transforms: [] }],
      ["email"],
      ["Email"],
      ["Email"],
    );
    expect(errs.map((e) => e.message)).toEqual([
      expect.stringMatching(/Nope is not a field of the target/),
      expect.stringMatching(/missing is not a field of the source/),
      expect.stringMatching(/requires Email/),
    ]);
  });
});
