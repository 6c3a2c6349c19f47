import { describe, expect, it } from "vitest";
import { call, signup } from "../helpers";
import { examplePackage, publishZip, publisher, repack } from "../plugin-helpers";

const html = (path: string, init: RequestInit & { cookie?: string } = {}) => {
  const headers = new Headers(init.headers);
  headers.set("accept", "text/html");
  if (init.cookie) headers.set("cookie", init.cookie);
  return call(path, { ...init, headers, redirect: "manual" });
};

/** What a browser holds after loading a sign-in or sign-up page: its form cookie and the form's token. */
async function formPage(
  path: "/signin" | "/signup",
): Promise<{ cookie: string; formToken: string }> {
  const page = await html(path);
  const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  expect(cookie).toMatch(/^atoll_form=[0-9A-Za-z]{32}$/);
  const formToken = /name="formToken" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  expect(formToken).not.toBe("");
  return { cookie, formToken };
}

const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

async function postSignin(fields: Record<string, string>): Promise<Response> {
  const { cookie, formToken } = await formPage("/signin");
  return html("/signin", { method: "POST", cookie, ...form({ formToken, ...fields }) });
}

async function signIn(apiKey: string): Promise<{ cookie: string; csrf: string }> {
  const res = await postSignin({ apiKey, next: "/" });
  expect(res.status).toBe(303);
  const setCookie = res.headers.get("set-cookie") ?? "";
  expect(setCookie).toMatch(/atoll_session=[0-9A-Za-z]{40}/);
  expect(setCookie).toMatch(/HttpOnly/i);
  expect(setCookie).toMatch(/Secure/i);
  expect(setCookie).toMatch(/SameSite=Lax/i);
  const cookie = setCookie.split(";")[0] ?? "";
  const page = await (await html("/", { cookie })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  expect(csrf).not.toBe("");
  return { cookie, csrf };
}

describe("the web UI", () => {
  it("renders the storefront with a strict CSP and no inline script or style", async () => {
    const a = await publisher("web");
    expect((await publishZip(a, examplePackage("hello", a.slug))).status).toBe(201);
    const res = await html(`/?q=${encodeURIComponent("smallest")}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toMatch(
      /default-src 'self'.*script-src 'self'/,
    );
    const body = await res.text();
    expect(body).toContain(`href="/listings/@${a.slug}/hello"`);
    expect(body).not.toMatch(/<script|style="/);
    expect(body).toMatch(/<label for="q">Search<\/label>/);
  });

  it("escapes whatever a publisher or searcher writes", async () => {
    const res = await html(`/?q=${encodeURIComponent('"><script>alert(1)</script>')}`);
    const body = await res.text();
    expect(body).not.toContain("<script>alert(1)</script>");
    expect(body).toContain("&lt;script&gt;");
  });

  it("signs in with an API key into an HttpOnly, Secure, SameSite session, and refuses a bad key next to the field", async () => {
    const a = await signup("webin");
    const bad = await postSignin({ apiKey: "atk_nope" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/id="apiKey-error"[^>]*>That API key is not valid/);
    const { cookie } = await signIn(a.apiKey);
    expect(await (await html("/", { cookie })).text()).toContain(a.slug);
  });

  it("installs from the listing page with the CSRF token, and refuses a form without it", async () => {
    const pub = await publisher("webpub");
    expect((await publishZip(pub, examplePackage("hello", pub.slug))).status).toBe(201);
    const buyer = await signup("webbuy");
    const { cookie, csrf } = await signIn(buyer.apiKey);
    const path = `/listings/@${pub.slug}/hello/install`;
    const form = (fields: Record<string, string | string[]>) => {
      const b = new URLSearchParams();
      for (const [k, v] of Object.entries(fields))
        for (const x of ([] as string[]).concat(v)) b.append(k, x);
      return html(path, {
        method: "POST",
        cookie,
        body: b,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
    };
    expect((await form({ environment: "staging", grants: "storage" })).status).toBe(403);
    const missing = await form({ csrf, environment: "staging" });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toMatch(
      /id="grants-error"[^>]*>The install must grant every declared permission/,
    );
    const ok = await form({ csrf, environment: "staging", grants: "storage" });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toMatch(/\?notice=installed-staging$/);
    const list = (await (await call("/v1/installations", { key: buyer.apiKey })).json()) as {
      installations: { plugin: string; environment: string }[];
    };
    expect(list.installations).toEqual([
      expect.objectContaining({ plugin: `@${pub.slug}/hello`, environment: "staging" }),
    ]);
  });

  it("answers a missing page with a friendly 404, and an API path with a problem document", async () => {
    const page = await html("/no/such/page");
    expect(page.status).toBe(404);
    expect(await page.text()).toContain("This page does not exist");
    const api = await html("/v1/no-such-thing");
    expect(api.headers.get("content-type")).toMatch(/problem\+json/);
  });

  it("does not follow an off-site next after sign-in", async () => {
    const a = await signup("webnext");
    const res = await postSignin({ apiKey: a.apiKey, next: "//evil.example/x" });
    expect(res.headers.get("location")).toBe("/");
  });

  it("refuses a cross-site sign-in (login CSRF): no form token, a token without its cookie, or another browser's token", async () => {
    const attacker = await signup("webcsrf");
    const mine = await formPage("/signin");
    const theirs = await formPage("/signin");
    for (const init of [
      form({ apiKey: attacker.apiKey, next: "/" }),
      form({ apiKey: attacker.apiKey, formToken: mine.formToken }),
      { cookie: mine.cookie, ...form({ apiKey: attacker.apiKey }) },
      { cookie: mine.cookie, ...form({ apiKey: attacker.apiKey, formToken: theirs.formToken }) },
    ]) {
      const res = await html("/signin", { method: "POST", ...init });
      expect(res.status).toBe(403);
      expect(res.headers.get("set-cookie") ?? "").not.toMatch(/atoll_session=[0-9A-Za-z]/);
    }
  });

  it("refuses a cross-site sign-up, creating nothing", async () => {
    const tag = `x${Date.now()}`;
    const res = await html("/signup", {
      method: "POST",
      ...form({
        name: "Forged",
        email: `${tag}@example.test`,
        organization: "Forged",
        slug: `forged-${tag}`,
      }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie") ?? "").not.toMatch(/atoll_session=[0-9A-Za-z]/);
    const taken = await call("/v1/signup", {
      method: "POST",
      json: {
        email: `${tag}@example.test`,
        name: "Real",
        organization: { name: "Real", slug: `forged-${tag}` },
      },
    });
    expect(taken.status).toBe(201);
  });

  it("shows each declared route on the listing page with its method, path, summary and limit", async () => {
    const pub = await publisher("webroutes");
    const zip = repack(examplePackage("hello", pub.slug), (m) => ({
      ...m,
      routes: [
        ...((m.routes as unknown[]) ?? []),
        { method: "DELETE", path: "/things/{id}", summary: '<img src=x onerror="alert(1)">' },
        { method: "PUT", path: "/slow/*", limit: { requests: 5, window: 3600 } },
      ],
    }));
    expect((await publishZip(pub, zip)).status).toBe(201);
    const page = await (await html(`/listings/@${pub.slug}/hello`)).text();
    const table = /<h2 id="routes">Routes<\/h2>(.*?)<\/table>/s.exec(page)?.[1] ?? "";
    const rows = [...table.matchAll(/<tr>(.*?)<\/tr>/gs)].map((r) =>
      [...(r[1] ?? "").matchAll(/<td>(.*?)<\/td>/gs)].map((c) =>
        (c[1] ?? "").replace(/<\/?code>/g, ""),
      ),
    );
    expect(rows.filter((r) => r.length > 0)).toEqual([
      ["GET", "/", "A greeting and who is calling", "The plan&#39;s"],
      ["GET", "/hello/{name}", "Greets someone", "The plan&#39;s"],
      [
        "POST",
        "/visits",
        "Counts a visit (kept in the installation&#39;s storage)",
        "60 per minute",
      ],
      [
        "DELETE",
        "/things/{id}",
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;",
        "The plan&#39;s",
      ],
      ["PUT", "/slow/*", "", "5 per hour"],
    ]);
    expect(page).not.toContain("<img src=x");
  });

  it("prints only notices from its fixed set, never text from the link", async () => {
    const pub = await publisher("webnote");
    expect((await publishZip(pub, examplePackage("hello", pub.slug))).status).toBe(201);
    const path = `/listings/@${pub.slug}/hello`;
    const forged = await (
      await html(
        `${path}?notice=${encodeURIComponent("Your account is suspended: call +1 555 0100")}`,
      )
    ).text();
    expect(forged).not.toContain("suspended: call");
    expect(forged).not.toMatch(/class="notice"/);
    expect(await (await html(`${path}?notice=rated`)).text()).toMatch(
      /class="notice"[^>]*>Thanks: your rating is saved\./,
    );
    const { cookie } = await signIn(pub.apiKey);
    expect(
      await (
        await html(
          `/dashboard?notice=${encodeURIComponent("Send your key to support@evil.example")}`,
          { cookie },
        )
      ).text(),
    ).not.toContain("evil.example");
    expect(await (await html("/dashboard?notice=key-revoked", { cookie })).text()).toContain(
      "The key is revoked.",
    );
  });

  it.each([
    "/listings/@a-b/c/install",
    "/listings/@a-b/c/rate",
    "/signin",
    "/signout",
    "/signup",
    "/dashboard/keys",
    "/dashboard/keys/key_1/revoke",
    "/dashboard/connections/con_1/disconnect",
    "/dashboard/installations/ins_1/uninstall",
    "/operator/versions/ver_1/decision",
    "/operator/suspend",
  ])("answers a malformed multipart body to %s with 400, signed in or not", async (path) => {
    const broken = {
      body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated',
      headers: { "content-type": "multipart/form-data; boundary=x" },
    };
    expect((await html(path, { method: "POST", ...broken })).status).toBe(400);
    const noBoundary = { body: "whatever", headers: { "content-type": "multipart/form-data" } };
    expect((await html(path, { method: "POST", ...noBoundary })).status).toBe(400);
  });
});

describe("the web UI's signed-in pages", () => {
  it("signs up a newcomer, shows the key once and signs them in", async () => {
    const tag = `n${Date.now()}`;
    const page = await formPage("/signup");
    const res = await html("/signup", {
      method: "POST",
      cookie: page.cookie,
      ...form({
        formToken: page.formToken,
        name: "Newcomer",
        email: `${tag}@example.test`,
        organization: "Newco",
        slug: `newco-${tag}`,
      }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("set-cookie")).toMatch(/atoll_session=/);
    expect(await res.text()).toMatch(/value="atk_[0-9A-Za-z]+"/);
    const again = await html("/signup", {
      method: "POST",
      cookie: page.cookie,
      ...form({
        formToken: page.formToken,
        name: "Newcomer",
        email: "not-an-email",
        organization: "Newco",
        slug: "x",
      }),
    });
    expect(again.status).toBe(400);
    expect(await again.text()).toMatch(/id="email-error"/);
  });

  it("sends anonymous visitors of dashboards to sign in, and hides the operator page from tenants", async () => {
    expect((await html("/dashboard")).headers.get("location")).toBe("/signin?next=%2Fdashboard");
    const a = await signup("webop");
    const { cookie } = await signIn(a.apiKey);
    expect((await html("/operator", { cookie })).status).toBe(404);
    const dash = await html("/dashboard", { cookie });
    expect(dash.status).toBe(200);
    expect(await dash.text()).toContain("API keys");
    const pub = await html("/publisher", { cookie });
    expect(pub.status).toBe(200);
    expect(await pub.text()).toContain('id="installs-chart"');
  });
});

describe("the publisher's payout statement page", () => {
  it("lists the transactions a payout covers", async () => {
    const { setupPayments, seller, buyer, buy, newKey } = await import("../revenue-helpers");
    await setupPayments();
    const d = await seller("webpay");
    expect((await buy(await buyer(), d.subscription)).status).toBe(201);
    const po = (await (
      await call("/v1/revenue/payouts", {
        method: "POST",
        key: d.account.apiKey,
        json: { currency: "USD" },
        headers: { "idempotency-key": newKey() },
      })
    ).json()) as { id: string };
    const { cookie } = await signIn(d.account.apiKey);
    const pub = await (await html("/publisher", { cookie })).text();
    expect(pub).toContain(`href="/publisher/payouts/${po.id}"`);
    const page = await html(`/publisher/payouts/${po.id}`, { cookie });
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).toContain("26.10 USD");
    expect(body).toMatch(/<td>purchase<\/td>/);
    const stranger = await signup("webpay2");
    expect(
      (
        await html(`/publisher/payouts/${po.id}`, {
          cookie: (await signIn(stranger.apiKey)).cookie,
        })
      ).status,
    ).toBe(404);
  });
});

describe("the tenant dashboard's keys and connections", () => {
  it("creates a key (shown once), revokes it, and refuses a nameless one next to the field", async () => {
    const a = await signup("webkeys");
    const { cookie, csrf } = await signIn(a.apiKey);
    const post = (path: string, fields: Record<string, string>) =>
      html(path, {
        method: "POST",
        cookie,
        body: new URLSearchParams(fields),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
    const bad = await post("/dashboard/keys", { csrf, name: " " });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/id="key-name-error"/);
    const made = await post("/dashboard/keys", { csrf, name: "ci" });
    expect(made.status).toBe(201);
    const key =
      /id="created-key" readonly="" value="(atk_[0-9A-Za-z]+)"/.exec(await made.text())?.[1] ?? "";
    expect(key).toMatch(/^atk_/);
    expect((await call("/v1/me", { key })).status).toBe(200);
    const keys = (await (await call("/v1/api-keys", { key: a.apiKey })).json()) as {
      keys: { id: string; name: string }[];
    };
    const ci = keys.keys.find((k) => k.name === "ci");
    expect((await post(`/dashboard/keys/${ci?.id}/revoke`, { csrf })).status).toBe(303);
    expect((await call("/v1/me", { key })).status).toBe(401);
    expect((await post(`/dashboard/keys/${ci?.id}/revoke`, {})).status).toBe(403);
  });
});
