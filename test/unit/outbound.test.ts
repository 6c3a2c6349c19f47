import { describe, expect, it } from "vitest";
import { outboundFetch } from "../../workers/outbound/src/index";
import { checkEgress, redirectHop } from "../../src/runtime/egress-policy";

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

describe("the production outbound Worker's redirects", () => {
  const hosts = { installationId: "ins_x", hosts: "api.stripe.com,hooks.slack.com" };
  const credentials = {
    authorization: "Bearer sk_live_secret",
    cookie: "session=secret",
    "proxy-authorization": "Basic c2VjcmV0",
    "x-custom": "kept",
  };
  /** A fake network: api.stripe.com redirects to `location` (once) with `status`; the rest answer 200. */
  function redirecting(location: string, status = 302) {
    const seen: Request[] = [];
    const cancelled: string[] = [];
    const fake = (async (req: Request) => {
      seen.push(req);
      if (new URL(req.url).pathname !== "/start") return new Response("landed");
      const body = new ReadableStream({
        cancel: () => void cancelled.push(req.url),
        pull: (c) => c.enqueue(new TextEncoder().encode("moved")),
      });
      return new Response(body, { status, headers: { location } });
    }) as typeof fetch;
    return { seen, cancelled, fake };
  }

  it("does not carry the plugin's credentials to a redirect target on another host", async () => {
    const { seen, fake } = redirecting("https://hooks.slack.com/landing");
    const res = await outboundFetch(
      new Request("https://api.stripe.com/start", { headers: credentials }),
      hosts,
      fake,
    );
    expect(await res.text()).toBe("landed");
    expect(seen.map((r) => r.url)).toEqual([
      "https://api.stripe.com/start",
      "https://hooks.slack.com/landing",
    ]);
    const hop = seen[1]?.headers;
    expect([
      hop?.get("authorization"),
      hop?.get("cookie"),
      hop?.get("proxy-authorization"),
    ]).toEqual([null, null, null]);
    expect(hop?.get("x-custom")).toBe("kept");
  });

  it("keeps them on a redirect within the same host", async () => {
    const { seen, fake } = redirecting("/landing");
    await outboundFetch(
      new Request("https://api.stripe.com/start", { headers: credentials }),
      hosts,
      fake,
    );
    expect(seen[1]?.headers.get("authorization")).toBe("Bearer sk_live_secret");
  });

  it("drops the body's headers when a 303 turns a POST into a GET", async () => {
    const { seen, fake } = redirecting("/landing", 303);
    await outboundFetch(
      new Request("https://api.stripe.com/start", {
        method: "POST",
        body: "amount=1",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      hosts,
      fake,
    );
    expect(seen[1]?.method).toBe("GET");
    expect(seen[1]?.headers.get("content-type")).toBeNull();
  });

  it("cancels the body of every redirect answer it follows or refuses", async () => {
    const followed = redirecting("/landing");
    await outboundFetch(new Request("https://api.stripe.com/start"), hosts, followed.fake);
    expect(followed.cancelled).toEqual(["https://api.stripe.com/start"]);
    const refused = redirecting("https://169.254.169.254/latest");
    const res = await outboundFetch(
      new Request("https://api.stripe.com/start"),
      hosts,
      refused.fake,
    );
    expect(res.status).toBe(403);
    expect(refused.cancelled).toEqual(["https://api.stripe.com/start"]);
  });

  it("refuses a redirect to a host that is not granted, with its refusal answer", async () => {
    const { seen, fake } = redirecting("https://evil.example/steal");
    const res = await outboundFetch(new Request("https://api.stripe.com/start"), hosts, fake);
    expect(res.status).toBe(403);
    expect(res.headers.get("x-atoll-egress")).toBe("refused");
    expect(await res.text()).toContain("evil.example is not granted");
    expect(seen).toHaveLength(1);
  });

  it("refuses a redirect whose location is not a URL instead of throwing", async () => {
    const { fake } = redirecting("https://[broken");
    const res = await outboundFetch(new Request("https://api.stripe.com/start"), hosts, fake);
    expect(res.status).toBe(403);
    expect(res.headers.get("x-atoll-egress")).toBe("refused");
  });
});

describe("the production outbound Worker and a redirect that keeps the body", () => {
  it("hands a 307 of a request with a body back to the plugin, sent once, instead of throwing", async () => {
    const seen: string[] = [];
    const fake = (async (req: Request) => {
      seen.push(`${req.method} ${new URL(req.url).pathname} ${await req.text()}`);
      return new URL(req.url).pathname === "/start"
        ? new Response("moved", { status: 307, headers: { location: "/next" } })
        : new Response("landed");
    }) as typeof fetch;
    const res = await outboundFetch(
      new Request("https://api.stripe.com/start", { method: "POST", body: "amount=1" }),
      { hosts: "api.stripe.com" },
      fake,
    );
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("/next");
    expect(seen).toEqual(["POST /start amount=1"]);
  });

  it("still follows a 308 of a request without a body, method kept", async () => {
    const seen: string[] = [];
    const fake = (async (req: Request) => {
      seen.push(`${req.method} ${new URL(req.url).pathname}`);
      return new URL(req.url).pathname === "/start"
        ? new Response(null, { status: 308, headers: { location: "/next" } })
        : new Response("landed");
    }) as typeof fetch;
    const res = await outboundFetch(
      new Request("https://api.stripe.com/start", { method: "DELETE" }),
      { hosts: "api.stripe.com" },
      fake,
    );
    expect(await res.text()).toBe("landed");
    expect(seen).toEqual(["DELETE /start", "DELETE /next"]);
  });
});

describe("redirectHop (both gates' redirect rule)", () => {
  it.each([
    [301, "POST", true, "GET"],
    [302, "POST", true, "GET"],
    [303, "PUT", true, "GET"],
    [303, "GET", false, "GET"],
    [302, "DELETE", false, "DELETE"],
    [307, "GET", false, "GET"],
    [308, "PATCH", false, "PATCH"],
    [307, "POST", true, null],
    [302, "PUT", true, null],
  ])("%i after %s (body: %s) → %s", (status, method, hasBody, expected) => {
    const request = new Request("https://api.stripe.com/a", {
      method,
      body: hasBody ? "x" : null,
    });
    const hop = redirectHop(request, new URL(request.url), status, "/b");
    expect(hop.ok).toBe(true);
    if (hop.ok) expect(hop.request?.method ?? null).toBe(expected);
  });
});
