/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core (headless, no
 * network, a fresh profile). A newcomer signs up, browses, installs a plugin into staging and
 * rates it; a buyer buys a paid plugin (double-submitting the confirmation: charged once) and
 * cancels the subscription; the publisher sees the install in its dashboard chart; the operator
 * approves a version. Every page visited is checked with axe-core (WCAG 2 A/AA) and screenshotted into
 * .tmp/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const CHROMIUM = "/usr/bin/chromium";
const base = inject("baseUrl");
const operatorKey = inject("operatorKey");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as { apiKey: string };
const root = join(import.meta.dirname, "..", "..");
const shots = join(root, ".tmp", "screenshots");
const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);
const present = existsSync(CHROMIUM);
if (!present)
  console.warn(
    `${CHROMIUM} is not installed here: the browser tests are skipped (apt-get install chromium; .ci/run does)`,
  );

let contexts: BrowserContext[] = [];

async function context(options: { bypassCSP?: boolean } = {}): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), "atoll-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    // axe-core is injected as a script; the pages' CSP (checked by the workers tests) would refuse it.
    bypassCSP: options.bypassCSP ?? true,
    viewport: { width: 1280, height: 900 },
  });
  contexts.push(ctx);
  return ctx;
}

/** axe-core's WCAG 2 A/AA violations on the page (none expected), and a screenshot. */
async function check(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  await page.addScriptTag({ content: axeSource });
  const violations = (await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            ctx: Document,
            opts: unknown,
          ) => Promise<{
            violations: { id: string; help: string; nodes: { target: string[] }[] }[];
          }>;
        };
      }
    ).axe;
    const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
    return r.violations.map((v) => ({
      id: v.id,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 3),
    }));
  })) as { id: string; help: string; targets: string[] }[];
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.goto(`${base}/signin`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/`);
}

beforeAll(() => {
  contexts = [];
});
afterAll(async () => {
  for (const c of contexts) await c.close();
});

describe.skipIf(!present)("the web UI in Chromium", () => {
  it("a newcomer signs up, browses, installs a plugin into staging and rates it", async () => {
    const page = await (await context()).newPage();
    await page.goto(`${base}/`);
    await check(page, "01-storefront");
    const tag = `b${Date.now()}`;
    await page.getByRole("link", { name: "Sign in" }).click();
    await check(page, "02-signin");
    await page.getByRole("link", { name: "Create one" }).click();
    await page.getByLabel("Your name").fill("Browser Newcomer");
    await page.getByLabel("Email").fill(`${tag}@example.test`);
    await page.getByLabel("Organization name").fill("Browser Co");
    await page.getByLabel(/Organization handle/).fill(`browser-${tag}`);
    await check(page, "03-signup");
    await page.getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.getByLabel("API key").inputValue()).toMatch(/^atk_/);
    await check(page, "04-welcome");

    await page.getByRole("link", { name: "Browse the marketplace" }).click();
    await page.getByRole("searchbox", { name: "Search" }).fill("smallest");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: /hello/i }).first().click();
    await page.waitForURL(/\/listings\/@demo\/hello$/);
    await check(page, "05-listing");
    await page.getByLabel("Environment").selectOption("staging");
    await page.getByRole("checkbox", { name: "storage" }).check();
    await page.getByRole("button", { name: /^Install/ }).click();
    await expect
      .poll(() => page.getByRole("status").textContent())
      .toMatch(/Installed into staging/);

    await page.getByLabel("Your rating").selectOption("5");
    await page.getByLabel("Review (optional)").fill(`Clear and small (${tag})`);
    await page.getByRole("button", { name: "Rate it" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/rating is saved/);
    expect(await page.getByText(`Clear and small (${tag})`).count()).toBe(1);

    await page.getByRole("link", { name: "Dashboard" }).click();
    await check(page, "06-dashboard");
    expect(
      await page
        .getByRole("region", { name: "staging" })
        .getByRole("link", { name: "@demo/hello" })
        .count(),
    ).toBe(1);
  });

  it("a buyer buys a paid plugin with a card token, double-submits the confirmation, is charged once and cancels", async () => {
    const tag = `p${Date.now()}`;
    const account = (await (
      await fetch(`${base}/v1/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          email: `${tag}@example.test`,
          name: "Browser Buyer",
          organization: { name: "Browser Buyer", slug: `buyer-${tag}` },
        }),
      })
    ).json()) as { apiKey: string };
    const page = await (await context()).newPage();
    await signIn(page, account.apiKey);
    await page.goto(`${base}/listings/@demo/advanced-analytics`);
    await check(page, "11-listing-paid");
    expect(await page.locator("#price").textContent()).toBe("29.00 USD / month");
    // A new organization has no card on file: it pays with a test card token.
    expect(await page.getByLabel(/The card on file/).isDisabled()).toBe(true);
    await page.getByLabel("A card token").check();
    await page.getByLabel("Card token", { exact: true }).fill("tok_visa");
    await page.getByRole("button", { name: "Review the purchase" }).click();
    await page.waitForURL(/\/buy$/);
    await check(page, "12-buy-confirm");
    expect(await page.locator("#confirm-price").textContent()).toBe("29.00 USD / month");
    expect(await page.locator("#confirm-method").textContent()).toBe("tok_visa");
    // A double submit: the page's own submission of the form and, at the same moment, a second
    // one of the same form (its fields, this browser's cookies) — as a double click or a retry
    // after a dropped connection sends. (Chromium itself sends one request for a double click on
    // a submit button: it replaces the pending navigation.) One idempotency key: one charge.
    const ctx = page.context();
    const form = page.locator('form[action$="/buy/confirm"]');
    const action = (await form.getAttribute("action")) ?? "";
    const fields = Object.fromEntries(
      await form
        .locator('input[type="hidden"]')
        .evaluateAll((els) =>
          els.map((e) => [(e as HTMLInputElement).name, (e as HTMLInputElement).value]),
        ),
    ) as Record<string, string>;
    expect(fields.idempotencyKey).toMatch(/^web_[0-9A-Za-z]{32}$/);
    const cookie = (await ctx.cookies(base)).map((c) => `${c.name}=${c.value}`).join("; ");
    const [again] = await Promise.all([
      ctx.request.post(`${base}${action}`, {
        form: fields,
        headers: { cookie },
        maxRedirects: 0,
      }),
      page.getByRole("button", { name: "Pay 29.00 USD / month" }).click(),
    ]);
    await page.waitForURL(`${base}/dashboard/purchases?notice=purchased`);
    expect(again.status()).toBe(303);
    expect(again.headers().location).toBe("/dashboard/purchases?notice=purchased");
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/Bought/);
    await check(page, "13-purchases");
    const bought = (await (
      await fetch(`${base}/v1/purchases`, { headers: { "x-api-key": account.apiKey } })
    ).json()) as { purchases: { listing: string; amount: number }[] };
    expect(bought.purchases.map((p) => [p.listing, p.amount])).toEqual([
      ["@demo/advanced-analytics", 2900],
    ]);
    // The listing page now says it is bought; the subscription is cancelled from the purchases page.
    await page.goto(`${base}/listings/@demo/advanced-analytics`);
    expect(await page.getByText(/Your organization bought it on/).count()).toBe(1);
    await page.goto(`${base}/dashboard/purchases`);
    await page
      .getByRole("button", { name: "Cancel the subscription to @demo/advanced-analytics" })
      .click();
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/Canceled/);
    expect(await page.getByText(/canceled: access until/).count()).toBe(1);
  });

  it("the publisher sees the install in its dashboard chart", async () => {
    const page = await (await context()).newPage();
    await signIn(page, creds.apiKey);
    await page.goto(`${base}/publisher`);
    await check(page, "07-publisher");
    const today = new Date().toISOString().slice(0, 10);
    const bar = page.locator(`#installs-chart rect[data-label="${today}"]`);
    expect(Number(await bar.getAttribute("data-value"))).toBeGreaterThanOrEqual(1);
    expect(await page.getByRole("img", { name: /Installs per day/ }).count()).toBe(1);
  });

  it("the operator approves a version waiting for review", async () => {
    // A newcomer (not verified) publishes: the version waits for review.
    const tag = `r${Date.now()}`;
    const signup = (await (
      await fetch(`${base}/v1/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          email: `${tag}@example.test`,
          name: "Reviewed",
          organization: { name: "Reviewed", slug: `rev-${tag}` },
        }),
      })
    ).json()) as { apiKey: string };
    const manifest = {
      name: `@rev-${tag}/counter`,
      version: "1.0.0",
      description: "Counts.",
      author: "tests",
      kind: "plugin",
      entry: "index.js",
      apiVersion: "1",
    };
    const zip = zipSync({
      "manifest.json": strToU8(JSON.stringify(manifest)),
      "index.js": strToU8("export default { fetch() { return Response.json({ ok: true }); } };"),
    });
    const pub = await fetch(`${base}/v1/packages`, {
      method: "POST",
      headers: { "x-api-key": signup.apiKey, "content-type": "application/zip" },
      body: zip,
    });
    expect(((await pub.json()) as { status: string }).status).toBe("in_review");

    const page = await (await context()).newPage();
    await signIn(page, operatorKey);
    await page.goto(`${base}/operator`);
    await check(page, "08-operator");
    await page.getByRole("button", { name: `Approve @rev-${tag}/counter@1.0.0` }).click();
    // Notices are fixed texts (no text from the link reaches the notice box).
    await expect
      .poll(() => page.getByRole("status").textContent())
      .toMatch(/The version is approved/);
    expect(
      await page.getByRole("button", { name: `Approve @rev-${tag}/counter@1.0.0` }).count(),
    ).toBe(0);
    const listing = await fetch(`${base}/v1/marketplace/listings/@rev-${tag}/counter`);
    expect(listing.status).toBe(200);
  });

  it("the API reference loads nothing from another origin and offers no feature that would", async () => {
    // The page's own CSP applies here (no axe-core injected).
    const ctx = await context({ bypassCSP: false });
    const page = await ctx.newPage();
    const own = new URL(base).origin;
    // Every request of the page and of anything it starts (workers, service workers), fonts and
    // XHR included, and every websocket; data: URLs stay in the browser.
    const requests: string[] = [];
    ctx.on("request", (r) => requests.push(r.url()));
    page.on("websocket", (ws) => requests.push(ws.url()));
    page.on("worker", (w) => requests.push(w.url()));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) =>
        console.warn(`csp-violation ${e.violatedDirective} ${e.blockedURI} ${e.sample}`),
      );
    });
    const violations: string[] = [];
    page.on("console", (m) => {
      if (m.text().startsWith("csp-violation ")) violations.push(m.text());
    });
    const res = await page.goto(`${base}/docs`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toMatch(/default-src 'self'/);
    // Rendered: the first operation's title from the document is a heading.
    await page
      .getByRole("heading", { name: "Liveness and readiness" })
      .waitFor({ state: "visible", timeout: 20_000 });
    // "Test Request" sends from the browser straight to this origin (no proxy).
    await page
      .getByRole("button", { name: /Test Request/ })
      .first()
      .click();
    await page.getByRole("button", { name: "Send" }).first().click();
    await expect.poll(() => requests).toContain(`${own}/healthz`);
    // Let late loaders (fonts, lazy chunks, telemetry) run before counting.
    await page.waitForLoadState("networkidle");
    await page.waitForTimeout(1_000);
    const foreign = requests.filter((u) => !u.startsWith("data:") && new URL(u).origin !== own);
    expect(foreign).toEqual([]);
    expect(requests).toContain(`${own}/docs/scalar.js`);
    expect(requests).toContain(`${own}/openapi.json`);
    // Features that need Scalar's servers are not offered: the AI agent and its chat, the
    // developer toolbar (share, deploy), the links handing the document to the hosted client.
    const text = (await page.locator("body").innerText()).toLowerCase();
    for (const phrase of ["ask ai", "agent", "mcp", "share", "deploy", "open api client"])
      expect(text, phrase).not.toContain(phrase);
    expect(await page.locator('[class*="agent"]').count()).toBe(0);
    // No link hands the document to Scalar's services (client, registry, dashboard); the
    // "Powered by Scalar" credit is the only link there.
    const links = await page
      .locator("a[href]")
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(
      links.filter(
        (h) => /(^|\.)scalar\.com$/.test(new URL(h).hostname) && h !== "https://www.scalar.com/",
      ),
    ).toEqual([]);
    // zod's feature probe (`new Function("")` in a try) is the one refusal: nothing else is blocked.
    expect(violations.filter((v) => v !== "csp-violation script-src eval ")).toEqual([]);
  });

  it("the developer portal and a tutorial are accessible", async () => {
    const page = await (await context()).newPage();
    await page.goto(`${base}/portal`);
    await check(page, "09-portal");
    await page.getByRole("link", { name: "Your first plugin" }).click();
    await check(page, "10-tutorial");
    await page.goto(`${base}/no/such/page`);
    expect(await page.getByRole("heading", { name: "This page does not exist" }).count()).toBe(1);
  });
});
