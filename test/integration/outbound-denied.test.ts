/**
 * The workers test project denies outbound network (test/outbound-guard.ts): a fetch from inside
 * workerd reaches only the stand-ins the global setup named; anything else is refused loudly.
 */
import { inject, describe, expect, it } from "vitest";

const REFUSED = 599;

describe("outbound network in the workers tests", () => {
  it.each([
    ["an internet host", "https://example.com/"],
    ["an unnamed loopback port", "http://127.0.0.1:9/"],
    ["the local gateway's port", "http://127.0.0.1:8787/healthz"],
    [
      "a named stand-in's host on another port",
      `${new URL(inject("saas")).protocol}//127.0.0.1:${Number(new URL(inject("saas")).port) + 1}/`,
    ],
    ["cloud metadata", "http://169.254.169.254/latest/meta-data"],
  ])("refuses %s", async (_what, url) => {
    const res = await fetch(url);
    expect(res.status).toBe(REFUSED);
    expect(res.headers.get("x-atoll-test-outbound")).toBe("refused");
    expect(((await res.json()) as { detail: string }).detail).toContain(url);
  });

  it("forwards to a stand-in the setup named", async () => {
    const res = await fetch(`${inject("canary")}/__canary/hits?tag=outbound-guard`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hits: 0 });
  });
});
