/**
 * The marketplace walkthrough of docs/marketplace.md against the running platform: search, open a listing,
 * install it into staging, upgrade it, rate it, uninstall it; and the seeded catalogue.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as { apiKey: string };
const root = join(import.meta.dirname, "..", "..");
const key = { "x-api-key": creds.apiKey, "content-type": "application/json" };

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe("the marketplace, as docs/marketplace.md walks it", () => {
  it("holds a believable catalogue: several kinds, categories, publishers and ratings", async () => {
    // Each kind on its own (other e2e files publish plugins to the same platform first).
    type Page = { listings: { name: string; kind: string; rating: { count: number } }[] };
    const byKind = await Promise.all(
      ["plugin", "app", "template"].map(async (kind) =>
        json<Page>(await fetch(`${base}/v1/marketplace/listings?kind=${kind}&limit=50`)),
      ),
    );
    for (const page of byKind) expect(page.listings.length).toBeGreaterThan(0);
    const all = { listings: byKind.flatMap((p) => p.listings) };
    expect(new Set(all.listings.map((l) => l.name.split("/")[0])).size).toBeGreaterThanOrEqual(2);
    expect(all.listings.some((l) => l.rating.count > 0)).toBe(true);
    const cats = await json<{ categories: { listings: number }[] }>(
      await fetch(`${base}/v1/marketplace/categories`),
    );
    expect(cats.categories.filter((c) => c.listings > 0).length).toBeGreaterThanOrEqual(4);
  });

  it("searches, opens a listing, installs into staging, upgrades, rates and uninstalls", async () => {
    const found = await json<{ listings: { name: string }[] }>(
      await fetch(`${base}/v1/marketplace/listings?q=percentiles`),
    );
    // Other e2e files publish copies of the example plugins (same text, same rank): the demo's is
    // among the matches, not necessarily first.
    expect(found.listings.map((l) => l.name)).toContain("@demo/advanced-analytics");
    const page = await json<{ latestVersion: string; permissions: unknown[] }>(
      await fetch(`${base}/v1/marketplace/listings/@demo/advanced-analytics`),
    );
    expect(page.latestVersion).toBe("1.0.0");
    const inst = await json<{ id: string; environment: string }>(
      await fetch(`${base}/v1/installations`, {
        method: "POST",
        headers: key,
        body: JSON.stringify({
          plugin: "@demo/advanced-analytics",
          environment: "staging",
          grants: [],
        }),
      }),
    );
    expect(inst.environment).toBe("staging");
    // The publisher ships 1.1.0 (auto-approved locally); the installation is upgraded to it.
    const files = unzipSync(
      new Uint8Array(
        readFileSync(
          join(root, "plugins", "advanced-analytics", "dist", "advanced-analytics-1.0.0.zip"),
        ),
      ),
    );
    files["manifest.json"] = strToU8(
      JSON.stringify({
        ...JSON.parse(strFromU8(files["manifest.json"] as Uint8Array)),
        version: "1.1.0",
      }),
    );
    const pub = await fetch(`${base}/v1/packages`, {
      method: "POST",
      headers: { "x-api-key": creds.apiKey, "content-type": "application/zip" },
      body: zipSync(files),
    });
    expect(pub.status).toBe(201);
    const up = await fetch(`${base}/v1/installations/${inst.id}`, {
      method: "PATCH",
      headers: key,
      body: JSON.stringify({ version: "1.1.0" }),
    });
    expect(await json<{ version: string }>(up)).toMatchObject({ version: "1.1.0" });
    // The publisher cannot rate its own listing, even with an installation of it.
    const rated = await fetch(`${base}/v1/marketplace/listings/@demo/advanced-analytics/rating`, {
      method: "PUT",
      headers: key,
      body: JSON.stringify({ stars: 5, review: "From the e2e walkthrough" }),
    });
    expect(rated.status).toBe(403);
    expect(((await rated.json()) as { type: string }).type).toMatch(/rating-own-listing$/);
    const ratings = await json<{ count: number; reviews: { review: string }[] }>(
      await fetch(`${base}/v1/marketplace/listings/@demo/advanced-analytics/ratings`),
    );
    expect(ratings.reviews.map((r) => r.review)).toContain(
      "Percentiles and a trend line in one call.",
    );
    expect(ratings.reviews.map((r) => r.review)).not.toContain("From the e2e walkthrough");
    expect(
      (await fetch(`${base}/v1/installations/${inst.id}`, { method: "DELETE", headers: key }))
        .status,
    ).toBe(204);
    const historyRes = await fetch(`${base}/v1/installations/${inst.id}/history`, { headers: key });
    expect(historyRes.status, await historyRes.clone().text()).toBe(200);
    const history = await json<{ events: { action: string }[] }>(historyRes);
    expect(history.events.map((e) => e.action)).toEqual(["installed", "upgraded", "uninstalled"]);
  });
});
