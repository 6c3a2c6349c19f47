import { beforeAll, describe, expect, it } from "vitest";
import { call, problem, type Account } from "../helpers";
import {
  examplePackage,
  publishAndInstall,
  publishZip,
  publisher,
  rawPackage,
} from "../plugin-helpers";

const src = "export default { fetch() { return new Response('ok') } }";
let a: Account;

interface Page {
  listings: {
    name: string;
    kind: string;
    category: string;
    installs: number;
    pricing: { model: string };
    rating: { average: number | null; count: number };
  }[];
  nextCursor: string | null;
}
const browse = async (qs: string) => {
  const res = await call(`/v1/marketplace/listings?${qs}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Page;
};

beforeAll(async () => {
  a = await publisher("m");
  for (const name of ["hello", "payment-gateway", "advanced-analytics"])
    expect((await publishZip(a, examplePackage(name, a.slug))).status).toBe(201);
  const extra = [
    {
      name: "invoice-mailer",
      description: "Emails invoices to customers every month",
      category: "payments",
      keywords: ["invoices", "email"],
      kind: "app",
    },
    {
      name: "crm-sync",
      description: "Keeps contacts in sync between two CRMs",
      category: "crm",
      keywords: ["salesforce", "hubspot", "sync"],
      kind: "plugin",
    },
    {
      name: "starter-kit",
      description: "A starter for analytics dashboards",
      category: "analytics",
      keywords: ["template", "dashboard"],
      kind: "template",
      pricing: { model: "one-time", amount: 1500, currency: "USD" },
    },
  ];
  for (const e of extra) {
    const { name, ...rest } = e;
    expect(
      (await publishZip(a, rawPackage(a.slug, src, { name: `@${a.slug}/${name}`, ...rest })))
        .status,
    ).toBe(201);
  }
});

describe("marketplace search and browse", () => {
  it("finds listings by full text, ranked, without a credential", async () => {
    const page = await browse("q=stripe");
    expect(page.listings[0]?.name).toBe(`@${a.slug}/payment-gateway`);
    const prefix = await browse("q=analyt");
    expect(prefix.listings.map((l) => l.name)).toEqual(
      expect.arrayContaining([`@${a.slug}/advanced-analytics`, `@${a.slug}/starter-kit`]),
    );
    const keyword = await browse("q=hubspot");
    expect(keyword.listings.map((l) => l.name)).toEqual([`@${a.slug}/crm-sync`]);
  });

  it.each([['"unbalanced'], ["AND OR NOT"], ["NEAR(a b"], ["*"], ["col:value"], ["ümlaut ✓"]])(
    "treats hostile search text %s as words, never as FTS syntax",
    async (q) => {
      const res = await call(`/v1/marketplace/listings?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
    },
  );

  it("filters by kind, category, pricing and rating", async () => {
    expect((await browse("kind=app")).listings.map((l) => l.name)).toEqual([
      `@${a.slug}/invoice-mailer`,
    ]);
    expect((await browse("category=analytics")).listings.map((l) => l.name).sort()).toEqual(
      [`@${a.slug}/advanced-analytics`, `@${a.slug}/starter-kit`].sort(),
    );
    const paid = await browse("pricing=paid");
    expect(paid.listings.every((l) => l.pricing.model !== "free")).toBe(true);
    expect(paid.listings.map((l) => l.name).sort()).toEqual(
      [`@${a.slug}/advanced-analytics`, `@${a.slug}/starter-kit`].sort(),
    );
    expect((await browse("minRating=4")).listings).toEqual([]);
  });

  it("sorts by installs and newest, and pages with an opaque cursor", async () => {
    const b = await publisher("mi");
    await publishAndInstall(b, examplePackage("hello", b.slug));
    const installs = await browse("sort=installs&limit=50");
    expect(installs.listings[0]?.name).toBe(`@${b.slug}/hello`);
    expect(installs.listings[0]?.installs).toBe(1);
    const newest = await browse("sort=newest&limit=50");
    expect(newest.listings[0]?.name).toBe(`@${b.slug}/hello`);
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: Page = await browse(`sort=newest&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.listings.length).toBeLessThanOrEqual(2);
      seen.push(...page.listings.map((l) => l.name));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(newest.listings.map((l) => l.name));
  });

  it.each([
    ["an unknown category", "category=teleportation"],
    ["a limit above the cap", "limit=500"],
    ["a malformed cursor", "cursor=!!!"],
    ["an unknown parameter", "colour=red"],
    ["relevance without a query", "sort=relevance"],
    ["a rating out of range", "minRating=9"],
  ])("refuses %s with 400", async (_label, qs) => {
    const res = await call(`/v1/marketplace/listings?${qs}`);
    expect(res.status).toBe(400);
    await problem(res);
  });

  it("refuses a cursor replayed against another query", async () => {
    const first = await browse("sort=newest&limit=1");
    const res = await call(
      `/v1/marketplace/listings?sort=installs&limit=1&cursor=${first.nextCursor}`,
    );
    expect(res.status).toBe(400);
  });

  it("lists the categories with counts", async () => {
    const res = (await (await call("/v1/marketplace/categories")).json()) as {
      categories: { id: string; listings: number }[];
    };
    const byId = Object.fromEntries(res.categories.map((c) => [c.id, c.listings]));
    expect(byId.payments).toBeGreaterThanOrEqual(2);
    expect(byId.crm).toBeGreaterThanOrEqual(1);
    expect(Object.keys(byId)).toContain("other");
  });
});

describe("a listing's page", () => {
  it("shows the latest version, what its permissions allow, routes, installs and ratings", async () => {
    const res = await call(`/v1/marketplace/listings/@${a.slug}/payment-gateway`);
    expect(res.status).toBe(200);
    const l = (await res.json()) as Record<string, unknown> & {
      permissions: { permission: string; allows: string }[];
    };
    expect(l).toMatchObject({
      name: `@${a.slug}/payment-gateway`,
      latestVersion: "1.0.0",
      category: "payments",
      publisher: a.slug,
      installs: 0,
      rating: { average: null, count: 0 },
    });
    expect(l.permissions).toContainEqual({
      permission: "network:api.stripe.com",
      allows: "may call api.stripe.com",
    });
    expect(l.routes).toContainEqual({
      method: "POST",
      path: "/charges",
      summary: expect.any(String),
    });
  });

  it("counts installs up and down", async () => {
    const b = await publisher("mc");
    const inst = await publishAndInstall(b, examplePackage("hello", b.slug));
    const get = async () =>
      (
        (await (await call(`/v1/marketplace/listings/@${b.slug}/hello`)).json()) as {
          installs: number;
        }
      ).installs;
    expect(await get()).toBe(1);
    await call(`/v1/installations/${inst.id}`, { method: "DELETE", key: b.apiKey });
    expect(await get()).toBe(0);
  });

  it("answers 404 for an unknown listing", async () => {
    expect((await call(`/v1/marketplace/listings/@${a.slug}/nothing`)).status).toBe(404);
  });
});
