import { describe, expect, it } from "vitest";
import { CloudflareApiError, ScriptsApi, retryAfterMs } from "../../src/runtime/cloudflare-api";

const envelope = (status: number, success: boolean, headers: Record<string, string> = {}) =>
  new Response(
    JSON.stringify({
      success,
      errors: success
        ? []
        : [{ code: status === 404 ? 10007 : 10013, message: `answer ${status}` }],
      messages: [],
      result: null,
    }),
    { status, headers: { "content-type": "application/json", ...headers } },
  );

/** A client over scripted answers; records each request's method and each wait. */
function client(
  answers: (Response | Error)[],
  retry: { retries?: number; maxDelayMs?: number } = {},
) {
  const requests: string[] = [];
  const waits: number[] = [];
  const api = new ScriptsApi(
    "https://api.cloudflare.test/client/v4",
    "acc",
    "ns",
    "tok",
    (_input, init) => {
      requests.push(String(init?.method));
      const next = answers.shift();
      if (!next) throw new Error("no more answers");
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    {
      baseDelayMs: 100,
      ...retry,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    },
  );
  return { api, requests, waits };
}

const script = {
  mainModule: "index.js",
  modules: { "index.js": "export default {}" },
  compatibilityDate: "2026-11-01",
  bindings: [],
  tags: ["atoll"],
};

describe("the Cloudflare API client", () => {
  it("takes a DELETE answered 200 with an empty body as done (no false failure)", async () => {
    const { api, requests } = client([new Response(null, { status: 200 })]);
    await expect(api.delete("atoll-x-1")).resolves.toBeUndefined();
    expect(requests).toEqual(["DELETE"]);
  });

  it("takes a DELETE of a script that is not there as done (a rollback of an upload that never landed)", async () => {
    const { api } = client([envelope(404, false)]);
    await expect(api.delete("atoll-x-1")).resolves.toBeUndefined();
  });

  it("still fails on a 2xx whose envelope says success: false", async () => {
    const { api } = client([envelope(200, false)]);
    await expect(api.upload("atoll-x-1", script)).rejects.toThrow(CloudflareApiError);
  });

  it("waits what a 429's Retry-After asks, then retries", async () => {
    const { api, requests, waits } = client([
      envelope(429, false, { "retry-after": "2" }),
      envelope(200, true),
    ]);
    await api.upload("atoll-x-1", script);
    expect(requests).toEqual(["PUT", "PUT"]);
    expect(waits).toEqual([2000]);
  });

  it("does not wait out a long Retry-After (Cloudflare's five-minute block): fails at once, saying how long", async () => {
    const { api, requests, waits } = client([envelope(429, false, { "retry-after": "300" })]);
    const err = await api.upload("atoll-x-1", script).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudflareApiError);
    expect((err as CloudflareApiError).retryAfterSeconds).toBe(300);
    expect(requests).toEqual(["PUT"]);
    expect(waits).toEqual([]);
  });

  it("retries 5xx and an unreachable API with bounded, growing backoff, then gives up", async () => {
    const { api, requests, waits } = client(
      [
        envelope(500, false),
        new TypeError("connection reset"),
        envelope(503, false),
        envelope(502, false),
      ],
      { retries: 3, maxDelayMs: 300 },
    );
    await expect(api.upload("atoll-x-1", script)).rejects.toThrow(/after 4 attempts/);
    expect(requests).toHaveLength(4);
    expect(waits).toHaveLength(3);
    expect(waits[0]).toBeGreaterThanOrEqual(50);
    expect(waits[0]).toBeLessThanOrEqual(100);
    for (const w of waits) expect(w).toBeLessThanOrEqual(300);
    expect(waits[2]).toBeGreaterThanOrEqual(150);
  });

  it("never retries a refusal (4xx other than 429)", async () => {
    const { api, requests } = client([envelope(400, false)]);
    await expect(api.upload("atoll-x-1", script)).rejects.toThrow(/answer 400/);
    expect(requests).toEqual(["PUT"]);
  });

  it("sends a fresh multipart body on every attempt", async () => {
    const bodies: string[] = [];
    const api = new ScriptsApi(
      "https://x.test",
      "acc",
      "ns",
      "tok",
      async (input, init) => {
        bodies.push(await new Request(input, init).text());
        return bodies.length === 1 ? envelope(503, false) : envelope(200, true);
      },
      { sleep: () => Promise.resolve() },
    );
    await api.upload("atoll-x-1", script);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toContain("export default {}");
  });
});

describe("Retry-After", () => {
  it.each([
    ["7", 7000],
    [" 0 ", 0],
    ["Wed, 02 Dec 2026 18:00:10 GMT", 10_000],
    ["soon", null],
    ["-1", null],
    [null, null],
  ])("reads %j as %j ms", (header, ms) => {
    expect(retryAfterMs(header, Date.parse("Wed, 02 Dec 2026 18:00:00 GMT"))).toBe(ms);
  });
});
