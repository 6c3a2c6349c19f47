import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem, type Account } from "../helpers";
import { invite as inviteMember } from "../mail-helpers";
import { examplePackage, publishZip, publisher } from "../plugin-helpers";

interface Ratings {
  average: number | null;
  count: number;
  distribution: Record<string, number>;
  reviews: { id: string; stars: number; review: string | null; reply: string | null }[];
  nextCursor: string | null;
}

/** The organization installs the listing; returns the installation. */
async function install(a: Account, name: string): Promise<{ id: string; endpoint: string }> {
  const inst = await call("/v1/installations", {
    method: "POST",
    key: a.apiKey,
    json: { plugin: name, grants: ["storage"] },
  });
  expect(inst.status).toBe(201);
  return (await inst.json()) as { id: string; endpoint: string };
}

/** Real calls through the plugin's route, then waits for the meter to write them. */
async function use(
  a: Account,
  inst: { id: string; endpoint: string },
  calls: number,
): Promise<void> {
  const before =
    (
      await env.DB.prepare(
        "SELECT COALESCE(SUM(calls), 0) AS n FROM usage_rollups WHERE installation_id = ? AND granularity = 'day'",
      )
        .bind(inst.id)
        .first<{ n: number }>()
    )?.n ?? 0;
  for (let i = 0; i < calls; i++)
    expect((await call(`${inst.endpoint}/hello/r${i}`, { key: a.apiKey })).status).toBe(200);
  for (let i = 0; i < 60; i++) {
    const n =
      (
        await env.DB.prepare(
          "SELECT COALESCE(SUM(calls), 0) AS n FROM usage_rollups WHERE installation_id = ? AND granularity = 'day'",
        )
          .bind(inst.id)
          .first<{ n: number }>()
      )?.n ?? 0;
    if (n >= before + calls) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the meter did not write the calls");
}

/** A day passes (the installation's creation moves 25 hours back: tests cannot wait a day). */
async function aDayLater(inst: { id: string }): Promise<void> {
  await env.DB.prepare("UPDATE installations SET created_at = created_at - ? WHERE id = ?")
    .bind(25 * 3_600_000, inst.id)
    .run();
}

/** An organization that has used the listing long and often enough to rate it. */
async function eligibleUser(name: string, prefix = "usr"): Promise<Account> {
  const user = await publisher(prefix);
  const inst = await install(user, name);
  await use(user, inst, 3);
  await aDayLater(inst);
  return user;
}

async function setup() {
  const pub = await publisher("pub");
  expect((await publishZip(pub, examplePackage("hello", pub.slug))).status).toBe(201);
  const name = `@${pub.slug}/hello`;
  const user = await eligibleUser(name);
  const rate = (key: string, json: unknown) =>
    call(`/v1/marketplace/listings/${name}/rating`, { method: "PUT", key, json });
  const summary = async () =>
    (await (await call(`/v1/marketplace/listings/${name}/ratings`)).json()) as Ratings;
  return { pub, user, name, rate, summary };
}

/** A new member of the owner's organization, who accepted the mailed invitation; its API key. */
async function invite(owner: Account, email: string): Promise<string> {
  return (await inviteMember(owner, email)).apiKey;
}

describe("rating stuffing", () => {
  it("refuses the listing's own publisher, even with an installation in use", async () => {
    const { pub, name, rate, summary } = await setup();
    const own = await install(pub, name);
    await use(pub, own, 3);
    await aDayLater(own);
    const res = await rate(pub.apiKey, { stars: 5, review: "Best plugin ever" });
    expect(res.status).toBe(403);
    expect((await problem(res)).type).toMatch(/rating-own-listing$/);
    expect(await summary()).toMatchObject({ count: 0, average: null, reviews: [] });
  });

  it("needs an installation active a day that called the listing three times", async () => {
    const { name, rate } = await setup();
    const fresh = await publisher("new");
    const inst = await install(fresh, name);
    const idle = await rate(fresh.apiKey, { stars: 5 });
    expect(idle.status).toBe(403);
    expect((await problem(idle)).type).toMatch(/rating-needs-usage$/);
    await use(fresh, inst, 3);
    // Used, but installed a moment ago.
    const recent = await rate(fresh.apiKey, { stars: 5 });
    expect(recent.status).toBe(403);
    expect((await problem(recent)).detail).toMatch(/0 h old/);
    await aDayLater(inst);
    expect((await rate(fresh.apiKey, { stars: 5 })).status).toBe(200);
  });

  it("counts one rating per organization, however many members review", async () => {
    const { user, rate, summary } = await setup();
    expect((await rate(user.apiKey, { stars: 2, review: "Meh." })).status).toBe(200);
    // The owner invites members who each rate 5: their reviews show, the average does not move.
    for (const email of ["sock1@example.test", "sock2@example.test", "sock3@example.test"]) {
      const key = await invite(user, `${Date.now()}-${email}`);
      expect((await rate(key, { stars: 5, review: `Amazing (${email})` })).status).toBe(200);
    }
    const s = await summary();
    expect(s).toMatchObject({ average: 2, count: 1, distribution: { "2": 1, "5": 0 } });
    expect(s.reviews).toHaveLength(4);
  });
});

describe("ratings and reviews", () => {
  it("takes one rating per user, updates it on a second call, and keeps the summary consistent", async () => {
    const { user, rate, summary, name } = await setup();
    expect((await rate(user.apiKey, { stars: 2, review: "Meh." })).status).toBe(200);
    expect(await summary()).toMatchObject({
      average: 2,
      count: 1,
      distribution: { "1": 0, "2": 1, "3": 0, "4": 0, "5": 0 },
    });
    expect((await rate(user.apiKey, { stars: 5, review: "Grew on me." })).status).toBe(200);
    const s = await summary();
    expect(s).toMatchObject({ average: 5, count: 1, distribution: { "2": 0, "5": 1 } });
    expect(s.reviews.map((r) => r.review)).toEqual(["Grew on me."]);
    const listing = (await (await call(`/v1/marketplace/listings/${name}`)).json()) as {
      rating: { average: number; count: number };
    };
    expect(listing.rating).toEqual({ average: 5, count: 1 });
  });

  it("refuses ratings from organizations that never installed the listing", async () => {
    const { rate } = await setup();
    const stranger = await publisher("str");
    const res = await rate(stranger.apiKey, { stars: 1, review: "never used it" });
    expect(res.status).toBe(403);
    expect((await problem(res)).type).toMatch(/rating-needs-install$/);
  });

  it.each([
    ["0 stars", { stars: 0 }],
    ["6 stars", { stars: 6 }],
    ["half stars", { stars: 4.5 }],
    ["an overlong review", { stars: 3, review: "x".repeat(5001) }],
  ])("refuses %s", async (_label, json) => {
    const { user, rate } = await setup();
    expect((await rate(user.apiKey, json)).status).toBe(400);
  });

  it("lets the publisher reply once, and nobody else", async () => {
    const { pub, user, rate, summary, name } = await setup();
    await rate(user.apiKey, { stars: 3, review: "Needs dark mode." });
    const id = (await summary()).reviews[0]?.id;
    const replyPath = `/v1/marketplace/listings/${name}/ratings/${id}/reply`;
    expect(
      (
        await call(replyPath, {
          method: "POST",
          key: user.apiKey,
          json: { text: "I am not the publisher" },
        })
      ).status,
    ).toBe(403);
    expect(
      (await call(replyPath, { method: "POST", key: pub.apiKey, json: { text: "Coming in 1.1!" } }))
        .status,
    ).toBe(204);
    expect(
      (await call(replyPath, { method: "POST", key: pub.apiKey, json: { text: "again" } })).status,
    ).toBe(409);
    expect((await summary()).reviews[0]?.reply).toBe("Coming in 1.1!");
  });

  it("takes reports once per user, and an operator hides a review from view and from the average", async () => {
    const { user, rate, summary, name } = await setup();
    const other = await eligibleUser(name, "oth");
    await rate(user.apiKey, { stars: 1, review: "abusive text" });
    await rate(other.apiKey, { stars: 5, review: "Great" });
    expect((await summary()).average).toBe(3);
    const abusive = (await summary()).reviews.find((r) => r.review === "abusive text");
    const reportPath = `/v1/marketplace/listings/${name}/ratings/${abusive?.id}/report`;
    expect(
      (await call(reportPath, { method: "POST", key: other.apiKey, json: { reason: "insults" } }))
        .status,
    ).toBe(204);
    expect((await call(reportPath, { method: "POST", key: other.apiKey, json: {} })).status).toBe(
      409,
    );
    expect(
      (
        await call(`/v1/operator/ratings/${abusive?.id}/hidden`, {
          method: "PUT",
          key: other.apiKey,
          json: { hidden: true },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await call(`/v1/operator/ratings/${abusive?.id}/hidden`, {
          method: "PUT",
          key: OPERATOR_KEY,
          json: { hidden: true },
        })
      ).status,
    ).toBe(204);
    const s = await summary();
    expect(s).toMatchObject({ average: 5, count: 1 });
    expect(s.reviews.map((r) => r.review)).toEqual(["Great"]);
  });

  it("pages reviews and filters listings by rating", async () => {
    const { user, rate, name } = await setup();
    await rate(user.apiKey, { stars: 4, review: "Good" });
    const page = (await (
      await call(`/v1/marketplace/listings/${name}/ratings?limit=1`)
    ).json()) as Ratings;
    expect(page.reviews).toHaveLength(1);
    const rated = (await (await call(`/v1/marketplace/listings?minRating=4&limit=50`)).json()) as {
      listings: { name: string }[];
    };
    expect(rated.listings.map((l) => l.name)).toContain(name);
  });
});
