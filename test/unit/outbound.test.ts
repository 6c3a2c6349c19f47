import { describe, expect, it } from "vitest";
import { outboundFetch } from "../../workers/outbound/src/index";
import { checkEgress } from "../../src/runtime/egress-policy";

describe("egress policy", () => {
  it.each([
    ["https://api.stripe.com/v1/charges", true],
    ["http://api.stripe.com/v1/charges", false],
    ["https://api.stripe.com:8443/", false],
    ["https://user:pw@api.stripe.com/", false],
    ["https://evil.example.com/", false],
    ["https://127.0.0.1/", false],
    ["https://[::1]/", false],
    ["https://API.STRIPE.COM/", true],
  ])("%s → allowed: %s", (url, ok) => {
    expect(checkEgress(new URL(url), ["api.stripe.com"]).ok).toBe(ok);
  });
});

describe("the production outbound Worker", () => {
  it("forwards a granted request and refuses the rest with 403", async () => {
    const seen: string[] = [];
    const fake = (async (req: Request) => {
      seen.push(req.url);
      return new Response("upstream");
    }) as typeof fetch;
    const env = { installationId: "ins_x", hosts: "api.stripe.com,hooks.slack.com" };
    expect(
      await (await outboundFetch(new Request("https://hooks.slack.com/x"), env, fake)).text(),
    ).toBe("upstream");
    const refused = await outboundFetch(new Request("https://evil.example.com/"), env, fake);
    expect(refused.status).toBe(403);
    expect(seen).toEqual(["https://hooks.slack.com/x"]);
  });

  it("re-checks every redirect hop", async () => {
    const fake = (async (req: Request) =>
      req.url.startsWith("https://api.stripe.com")
        ? new Response(null, {
            status: 302,
            headers: { location: "https://169.254.169.254/latest" },
          })
        : new Response("metadata!")) as typeof fetch;
    const res = await outboundFetch(
      new Request("https://api.stripe.com/redirect"),
      { hosts: "api.stripe.com" },
      fake,
    );
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("IP addresses");
  });

  it("refuses everything when nothing is granted", async () => {
    const res = await outboundFetch(
      new Request("https://api.stripe.com/"),
      {},
      (async () => new Response("x")) as typeof fetch,
    );
    expect(res.status).toBe(403);
  });
});
