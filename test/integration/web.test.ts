import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, signup } from "../helpers";
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
    "/listings/@a-b/c/buy",
    "/listings/@a-b/c/buy/confirm",
    "/listings/@a-b/c/reviews/rat_1/reply",
    "/dashboard/subscriptions/sub_1/cancel",
    "/operator/unsuspend",
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

/** A signed-in browser's form posts (urlencoded, repeated fields for arrays). */
function poster(cookie: string) {
  return (path: string, fields: Record<string, string | string[]>) => {
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
}

const hidden = (page: string, name: string) =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1] ?? "";

describe("the storefront's category filter", () => {
  it("labels every option and pill with the category's name and count", async () => {
    const a = await publisher("webcat");
    expect((await publishZip(a, examplePackage("hello", a.slug))).status).toBe(201);
    const api = (await (await call("/v1/marketplace/categories")).json()) as {
      categories: { id: string; name: string; listings: number }[];
    };
    const page = await (await html("/")).text();
    expect(page).not.toContain("undefined");
    const select = /<select id="category" name="category">([\s\S]*?)<\/select>/.exec(page)?.[1];
    const options = [...(select ?? "").matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)];
    expect(options.map((o) => [o[1], o[2]])).toEqual([
      ["", "All categories"],
      ...api.categories.map((c) => [c.id, c.name.replace("&", "&amp;")]),
    ]);
    const tools = api.categories.find((c) => c.id === "developer-tools");
    expect(tools?.listings).toBeGreaterThanOrEqual(1);
    expect(page).toContain(
      `<a class="tag" href="/?category=developer-tools">Developer tools (${tools?.listings})</a>`,
    );
    // The chosen category stays selected.
    expect(await (await html("/?category=developer-tools")).text()).toMatch(
      /<option value="developer-tools" selected="">Developer tools<\/option>/,
    );
  });
});

describe("buying in the web UI", () => {
  async function shop(prefix: string) {
    const { setupPayments, seller, buyer } = await import("../revenue-helpers");
    await setupPayments();
    const d = await seller(prefix);
    const b = await buyer(`${prefix}b`);
    const session = await signIn(b.apiKey);
    return { d, b, ...session, post: poster(session.cookie) };
  }

  it("shows the price and the card on file, confirms, and buys once however often the confirmation is submitted", async () => {
    const { d, b, cookie, csrf, post } = await shop("webbuy1");
    const path = `/listings/${d.subscription}`;
    const page = await (await html(path, { cookie })).text();
    expect(page).toMatch(/id="price">29\.00 USD \/ month</);
    expect(page).toContain(`action="${path}/buy"`);
    expect(page).toMatch(/<label for="pay-card">The card on file \(tok_…visa\)<\/label>/);
    // Without the CSRF token: refused, nothing bought.
    expect((await post(`${path}/buy`, { payWith: "card" })).status).toBe(403);
    const review = await post(`${path}/buy`, { csrf, payWith: "card" });
    expect(review.status).toBe(200);
    const confirm = await review.text();
    expect(confirm).toMatch(/id="confirm-price">29\.00 USD \/ month</);
    expect(confirm).toMatch(/id="confirm-method">the card on file \(tok_…visa\)</);
    const key = hidden(confirm, "idempotencyKey");
    expect(key).toMatch(/^web_[0-9A-Za-z]{32}$/);
    // Reviewing again makes another key (another intent); the form's key is what counts.
    expect(
      hidden(await (await post(`${path}/buy`, { csrf, payWith: "card" })).text(), "idempotencyKey"),
    ).not.toBe(key);
    const fields = { csrf, payWith: "card", token: "", idempotencyKey: key };
    // A double submit: two posts of the same form at once, then a third (a reload).
    const [one, two] = await Promise.all([
      post(`${path}/buy/confirm`, fields),
      post(`${path}/buy/confirm`, fields),
    ]);
    const three = await post(`${path}/buy/confirm`, fields);
    for (const r of [one, two, three]) {
      expect(r.status).toBe(303);
      expect(r.headers.get("location")).toBe("/dashboard/purchases?notice=purchased");
    }
    const mine = (await (await call("/v1/purchases", { key: b.apiKey })).json()) as {
      purchases: { listing: string; amount: number }[];
    };
    expect(mine.purchases).toEqual([
      expect.objectContaining({ listing: d.subscription, amount: 2900 }),
    ]);
    const { stripeState } = await import("../revenue-helpers");
    const charges = (await stripeState()).charges.filter(
      (ch) => ch.metadata.atoll_buyer === b.orgId,
    );
    expect(charges).toHaveLength(1);
    // The listing page now says it is bought, with no buy form.
    const after = await (await html(path, { cookie })).text();
    expect(after).toMatch(/Your organization bought it on/);
    expect(after).not.toContain(`action="${path}/buy"`);
    // A confirmation form with a forged key is refused, buying nothing.
    const forged = await post(`${path}/buy/confirm`, { ...fields, idempotencyKey: "x y" });
    expect(forged.status).toBe(400);
  });

  it("pays with a typed card token, and keeps what was typed when the card is declined", async () => {
    const { d, b, csrf, post } = await shop("webbuy2");
    const path = `/listings/${d.oneTime}`;
    const empty = await post(`${path}/buy`, { csrf, payWith: "token", token: " " });
    expect(empty.status).toBe(400);
    const emptyPage = await empty.text();
    expect(emptyPage).toMatch(/id="payment-error"[^>]*>Enter a card token/);
    expect(emptyPage).toMatch(/id="pay-token" name="payWith" value="token" checked=""/);
    const review = await (
      await post(`${path}/buy`, { csrf, payWith: "token", token: "tok_chargeDeclined" })
    ).text();
    expect(review).toMatch(/id="confirm-method">tok_chargeDeclined</);
    const declined = await post(`${path}/buy/confirm`, {
      csrf,
      payWith: "token",
      token: "tok_chargeDeclined",
      idempotencyKey: hidden(review, "idempotencyKey"),
    });
    expect(declined.status).toBe(402);
    const again = await declined.text();
    expect(again).toMatch(/id="payment-error"[^>]*>[^<]*declined/i);
    expect(again).toContain('value="tok_chargeDeclined"');
    expect(again).toMatch(/id="pay-token" name="payWith" value="token" checked=""/);
    // A new review (a new key) with a good token buys it.
    const review2 = await (
      await post(`${path}/buy`, { csrf, payWith: "token", token: "tok_mastercard" })
    ).text();
    const ok = await post(`${path}/buy/confirm`, {
      csrf,
      payWith: "token",
      token: "tok_mastercard",
      idempotencyKey: hidden(review2, "idempotencyKey"),
    });
    expect(ok.status).toBe(303);
    const mine = (await (await call("/v1/purchases", { key: b.apiKey })).json()) as {
      purchases: { listing: string; amount: number }[];
    };
    expect(mine.purchases.map((p) => [p.listing, p.amount])).toEqual([[d.oneTime, 1000]]);
  });

  it("tells a buyer without a card on file to enter a token", async () => {
    const { seller, setupPayments } = await import("../revenue-helpers");
    await setupPayments();
    const d = await seller("webbuy3");
    const nocard = await signup("webnocard");
    const { cookie, csrf } = await signIn(nocard.apiKey);
    const path = `/listings/${d.oneTime}`;
    const page = await (await html(path, { cookie })).text();
    expect(page).toMatch(/id="pay-card" name="payWith" value="card" disabled=""/);
    expect(page).toContain("The card on file (your organization has none)");
    expect(await (await call("/v1/billing/payment-method", { key: nocard.apiKey })).json()).toEqual(
      { paymentMethod: null },
    );
    const res = await poster(cookie)(`${path}/buy`, { csrf, payWith: "card" });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(
      /id="payment-error"[^>]*>Your organization has no card on file/,
    );
  });

  it("lists the buyer's purchases and subscriptions, and cancels a subscription", async () => {
    const { d, b, cookie, csrf, post } = await shop("webbuy4");
    const { buy } = await import("../revenue-helpers");
    expect((await buy(b, d.subscription)).status).toBe(201);
    expect((await buy(b, d.oneTime)).status).toBe(201);
    const page = await (await html("/dashboard/purchases", { cookie })).text();
    expect(page).toContain(`<a href="/listings/${d.subscription}">${d.subscription}</a>`);
    expect(page).toContain("29.00 USD");
    expect(page).toContain("10.00 USD");
    const subs = (await (await call("/v1/subscriptions", { key: b.apiKey })).json()) as {
      subscriptions: { id: string; currentPeriodEnd: string }[];
    };
    const sub = subs.subscriptions[0];
    expect(page).toContain(`action="/dashboard/subscriptions/${sub?.id}/cancel"`);
    expect(page).toContain(`renews ${sub?.currentPeriodEnd.slice(0, 10)}`);
    expect((await post(`/dashboard/subscriptions/${sub?.id}/cancel`, {})).status).toBe(403);
    const done = await post(`/dashboard/subscriptions/${sub?.id}/cancel`, { csrf });
    expect(done.status).toBe(303);
    expect(done.headers.get("location")).toBe("/dashboard/purchases?notice=subscription-canceled");
    const after = await (
      await html("/dashboard/purchases?notice=subscription-canceled", { cookie })
    ).text();
    expect(after).toContain("Canceled: access continues to the end of the paid period.");
    expect(after).toContain(`canceled: access until ${sub?.currentPeriodEnd.slice(0, 10)}`);
    expect(after).not.toContain(`action="/dashboard/subscriptions/${sub?.id}/cancel"`);
    // Someone else's subscription: the API's 404, shown on the page.
    const stranger = await signup("webbuy4s");
    const s2 = await signIn(stranger.apiKey);
    const theirs = await poster(s2.cookie)(`/dashboard/subscriptions/${sub?.id}/cancel`, {
      csrf: s2.csrf,
    });
    expect(theirs.status).toBe(404);
  });

  it("the publisher's chart titles say what they plot, and their totals match the report", async () => {
    const { d, b } = await shop("webchart");
    const { buy } = await import("../revenue-helpers");
    expect((await buy(b, d.subscription)).status).toBe(201);
    const { cookie } = await signIn(d.account.apiKey);
    const page = await (await html("/publisher", { cookie })).text();
    const report = (await (
      await call("/v1/analytics/report", { key: d.account.apiKey })
    ).json()) as { metrics: { installs: number; revenue: { currency: string; net: number }[] } };
    const chart = (id: string) =>
      new RegExp(
        `<svg class="chart" id="${id}"[^>]*aria-label="([^"]*)"[^>]*data-total="(\\d+)"`,
      ).exec(page);
    const sales = chart("revenue-chart-USD");
    expect(sales?.[1]).toMatch(/^Sales less refunds per day \(USD, before the platform fee\): /);
    expect(Number(sales?.[2])).toBe(report.metrics.revenue.find((r) => r.currency === "USD")?.net);
    expect(Number(sales?.[2])).toBe(2900);
    const installs = chart("installs-chart");
    expect(installs?.[1]).toMatch(/^Installs per day \(new installations\)/);
    expect(Number(installs?.[2])).toBe(report.metrics.installs);
    expect(page).not.toContain("Revenue per day");
  });
});

describe("ratings and replies in the web UI", () => {
  it("shows the rate form only to users who may rate, keeps what was typed, and lets the publisher reply once", async () => {
    const { eligibleUser } = await import("../rating-helpers");
    const pub = await publisher("webrate");
    expect((await publishZip(pub, examplePackage("hello", pub.slug))).status).toBe(201);
    const name = `@${pub.slug}/hello`;
    const path = `/listings/${name}`;
    // A stranger (nothing installed) and the publisher itself: no form, the reason instead.
    const stranger = await signIn((await signup("webrates")).apiKey);
    const strangerPage = await (await html(path, { cookie: stranger.cookie })).text();
    expect(strangerPage).not.toContain(`action="${path}/rate"`);
    expect(strangerPage).toMatch(
      /id="rating-eligibility"[^>]*>Only users whose organization installed/,
    );
    const owner = await signIn(pub.apiKey);
    const ownerPage = await (await html(path, { cookie: owner.cookie })).text();
    expect(ownerPage).not.toContain(`action="${path}/rate"`);
    expect(ownerPage).toMatch(
      /id="rating-eligibility"[^>]*>[^<]*your organization&#39;s own listing/,
    );
    // A user who installed it, used it and waited a day: the form.
    const user = await eligibleUser(name, "webrateu");
    const u = await signIn(user.apiKey);
    const eligibility = async (key: string) =>
      (await (
        await call(`/v1/marketplace/listings/${name}/rating/eligibility`, { key })
      ).json()) as { eligible: boolean; reason: string | null };
    expect(await eligibility(user.apiKey)).toEqual({ eligible: true, reason: null, detail: null });
    expect(await eligibility(pub.apiKey)).toMatchObject({ eligible: false, reason: "own-listing" });
    const userPage = await (await html(path, { cookie: u.cookie })).text();
    expect(userPage).toContain(`action="${path}/rate"`);
    // An error keeps the review typed and the stars chosen.
    const bad = await poster(u.cookie)(`${path}/rate`, {
      csrf: u.csrf,
      stars: "9",
      review: "Typed with care",
    });
    expect(bad.status).toBe(400);
    const badPage = await bad.text();
    expect(badPage).toMatch(/<textarea id="review"[^>]*>Typed with care<\/textarea>/);
    expect(badPage).toMatch(/id="stars-error"/);
    const good = await poster(u.cookie)(`${path}/rate`, {
      csrf: u.csrf,
      stars: "4",
      review: "Small and clear",
    });
    expect(good.status).toBe(303);
    const reviews = (await (await call(`/v1/marketplace/listings/${name}/ratings`)).json()) as {
      reviews: { id: string }[];
    };
    const rid = reviews.reviews[0]?.id ?? "";
    // Only the publisher gets the reply form.
    expect(await (await html(path, { cookie: u.cookie })).text()).not.toContain("/reply");
    const withForm = await (await html(path, { cookie: owner.cookie })).text();
    expect(withForm).toContain(`action="${path}/reviews/${rid}/reply"`);
    const replyPost = poster(owner.cookie);
    expect((await replyPost(`${path}/reviews/${rid}/reply`, { text: "Thanks" })).status).toBe(403);
    const empty = await replyPost(`${path}/reviews/${rid}/reply`, { csrf: owner.csrf, text: " " });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(
      new RegExp(`id="reply-${rid}-error"[^>]*>Write the reply first`),
    );
    // A stranger posting a reply: the API refuses, nothing is published.
    expect(
      (
        await poster(stranger.cookie)(`${path}/reviews/${rid}/reply`, {
          csrf: stranger.csrf,
          text: "Fake reply",
        })
      ).status,
    ).toBe(403);
    const ok = await replyPost(`${path}/reviews/${rid}/reply`, {
      csrf: owner.csrf,
      text: "Thank you!",
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe(`${path}?notice=replied`);
    const replied = await (await html(path, { cookie: owner.cookie })).text();
    expect(replied).toContain("Publisher: Thank you!");
    expect(replied).not.toContain(`action="${path}/reviews/${rid}/reply"`);
    expect(replied).not.toContain("Fake reply");
  });

  it("keeps the install form's environment and grants after an error", async () => {
    const pub = await publisher("webkeep");
    expect((await publishZip(pub, examplePackage("hello", pub.slug))).status).toBe(201);
    const { cookie, csrf } = await signIn((await signup("webkeepb")).apiKey);
    const res = await poster(cookie)(`/listings/@${pub.slug}/hello/install`, {
      csrf,
      environment: "production",
    });
    expect(res.status).toBe(400);
    const body = await res.text();
    expect(body).toMatch(/<option value="production" selected="">production<\/option>/);
    expect(body).not.toMatch(/<option value="development" selected="">/);
  });
});

describe("the operator's moderation in the web UI", () => {
  it("suspends a listing and lifts the suspension, keeping what was typed after an error", async () => {
    const pub = await publisher("weblift");
    expect((await publishZip(pub, examplePackage("hello", pub.slug))).status).toBe(201);
    const name = `@${pub.slug}/hello`;
    const { cookie, csrf } = await signIn(OPERATOR_KEY);
    const post = poster(cookie);
    const bad = await post("/operator/unsuspend", { csrf, listing: "not a listing" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/id="lift-listing"[^>]*value="not a listing"/);
    const badSuspend = await post("/operator/suspend", {
      csrf,
      listing: "@nobody-here/none",
      reason: "spam",
    });
    expect(badSuspend.status).toBe(400);
    const badBody = await badSuspend.text();
    expect(badBody).toMatch(/id="listing"[^>]*value="@nobody-here\/none"/);
    expect(badBody).toMatch(/id="suspend-reason"[^>]*value="spam"/);
    expect(
      (await post("/operator/suspend", { csrf, listing: name, reason: "checking" })).status,
    ).toBe(303);
    expect((await call(`/v1/marketplace/listings/${name}`)).status).toBe(404);
    expect((await post("/operator/unsuspend", { listing: name })).status).toBe(403);
    const lifted = await post("/operator/unsuspend", { csrf, listing: name });
    expect(lifted.status).toBe(303);
    expect(lifted.headers.get("location")).toBe("/operator?notice=unsuspended");
    expect((await call(`/v1/marketplace/listings/${name}`)).status).toBe(200);
    const page = await (await html("/operator?notice=unsuspended", { cookie })).text();
    expect(page).toContain("The suspension is lifted");
    expect(page).toContain("Metered calls per day (plugins and apps)");
  });

  it("keeps a new key's typed name after an error", async () => {
    const a = await signup("webkeepk");
    const { cookie, csrf } = await signIn(a.apiKey);
    const long = "k".repeat(101);
    const res = await poster(cookie)("/dashboard/keys", { csrf, name: long });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(new RegExp(`id="key-name"[^>]*value="${long}"`));
  });
});

describe("the favicon", () => {
  it("is served as SVG and linked from every page", async () => {
    for (const path of ["/favicon.svg", "/favicon.ico"]) {
      const res = await call(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/svg+xml");
      expect(await res.text()).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
    expect(await (await html("/")).text()).toContain(
      '<link rel="icon" href="/favicon.svg" type="image/svg+xml"/>',
    );
  });
});

describe("the tenant dashboard's notices", () => {
  it("shows the platform's notice when a version the organization runs is revoked", async () => {
    const a = await publisher("wn");
    const pub = await publishZip(a, examplePackage("hello", a.slug));
    const { plugin, version } = (await pub.json()) as { plugin: string; version: string };
    const inst = await call("/v1/installations", {
      method: "POST",
      key: a.apiKey,
      json: { plugin, grants: ["storage"] },
    });
    expect(inst.status).toBe(201);
    const [scope, short] = plugin.split("/");
    const revoked = await call(`/v1/plugins/${scope}/${short}/versions/${version}/revoke`, {
      method: "POST",
      key: a.apiKey,
      json: { reason: "a <b>bad</b> release" },
    });
    expect(revoked.status).toBe(200);
    const { cookie } = await signIn(a.apiKey);
    const page = await (await html("/dashboard", { cookie })).text();
    expect(page).toContain("Notices from the platform");
    expect(page).toContain(`${plugin}@${version} was revoked`);
    // The reason is the publisher's text: escaped, never markup.
    expect(page).not.toContain("<b>bad</b>");
  });
});
