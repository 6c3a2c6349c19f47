import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { OPERATOR_KEY, call, problem, type Account } from "../helpers";
import {
  examplePackage,
  installPlugin,
  publishAndInstall,
  publishZip,
  publisher,
  repack,
} from "../plugin-helpers";

/** The app with operator review on (the demo auto-approves). */
const reviewed = { ...env, ATOLL_AUTO_APPROVE: "false" };
const publishReviewed = (a: Account, zip: Uint8Array<ArrayBuffer>) =>
  app.request(
    "http://atoll.test/v1/packages",
    {
      method: "POST",
      body: zip,
      headers: { "x-api-key": a.apiKey, "content-type": "application/zip" },
    },
    reviewed,
  );
const op = (path: string, json: unknown, method = "POST") =>
  call(path, { method, key: OPERATOR_KEY, json });
const listing = (name: string) => call(`/v1/marketplace/listings/${name}`);
const queue = async () =>
  (
    (await (await call("/v1/operator/review-queue", { key: OPERATOR_KEY })).json()) as {
      versions: { versionId: string; plugin: string; version: string }[];
    }
  ).versions;

describe("review workflow", () => {
  it("keeps a submitted version out of browse and installs until an operator approves it", async () => {
    const a = await publisher("r");
    const res = await publishReviewed(a, examplePackage("hello", a.slug));
    expect(res.status).toBe(201);
    expect(((await res.json()) as { status: string }).status).toBe("in_review");
    const name = `@${a.slug}/hello`;
    expect((await listing(name)).status).toBe(404);
    expect((await installPlugin(a, { plugin: name, grants: ["storage"] })).status).toBe(404);
    const item = (await queue()).find((v) => v.plugin === name);
    expect(item).toMatchObject({ version: "1.0.0" });
    const approved = await op(`/v1/operator/versions/${item?.versionId}/decision`, {
      decision: "approve",
    });
    expect(await approved.json()).toMatchObject({ status: "published" });
    expect((await listing(name)).status).toBe(200);
    expect((await installPlugin(a, { plugin: name, grants: ["storage"] })).status).toBe(201);
    expect((await queue()).find((v) => v.plugin === name)).toBeUndefined();
  });

  it("rejects with a reason the publisher can read, and only from review", async () => {
    const a = await publisher("r");
    await publishReviewed(a, examplePackage("hello", a.slug));
    const item = (await queue()).find((v) => v.plugin === `@${a.slug}/hello`);
    const noReason = await op(`/v1/operator/versions/${item?.versionId}/decision`, {
      decision: "reject",
    });
    expect(noReason.status).toBe(400);
    expect(
      (
        await op(`/v1/operator/versions/${item?.versionId}/decision`, {
          decision: "reject",
          reason: "Describe what it does.",
        })
      ).status,
    ).toBe(200);
    const versions = (await (
      await call(`/v1/plugins/@${a.slug}/hello`, { key: a.apiKey })
    ).json()) as { versions: { status: string; reviewNote: string }[] };
    expect(versions.versions[0]).toMatchObject({
      status: "rejected",
      reviewNote: "Describe what it does.",
    });
    const again = await op(`/v1/operator/versions/${item?.versionId}/decision`, {
      decision: "approve",
    });
    expect(again.status).toBe(409);
  });

  it("lets only the operator decide", async () => {
    const a = await publisher("r");
    await publishReviewed(a, examplePackage("hello", a.slug));
    const item = (await queue()).find((v) => v.plugin === `@${a.slug}/hello`);
    const res = await call(`/v1/operator/versions/${item?.versionId}/decision`, {
      method: "POST",
      key: a.apiKey,
      json: { decision: "approve" },
    });
    expect(res.status).toBe(403);
    expect((await call("/v1/operator/review-queue", { key: a.apiKey })).status).toBe(403);
  });

  it("refuses a name confusable with an existing listing", async () => {
    const stamp = Date.now().toString(36);
    const mk = async (slug: string) => {
      const r = await call("/v1/signup", {
        method: "POST",
        json: { email: `${slug}@example.test`, name: "x", organization: { name: slug, slug } },
      });
      const b = (await r.json()) as { apiKey: string; organization: { id: string; slug: string } };
      return { apiKey: b.apiKey, orgId: b.organization.id, slug: b.organization.slug } as Account;
    };
    const real = await mk(`mod-${stamp}`);
    const fake = await mk(`rnod-${stamp}`);
    expect((await publishZip(real, examplePackage("hello", real.slug))).status).toBe(201);
    const res = await publishZip(fake, examplePackage("hello", fake.slug));
    expect(res.status).toBe(409);
    expect((await problem(res)).detail).toContain(`@${real.slug}/hello`);
  });

  it("refuses a display name confusable with another publisher's listing, in any spelling or script", async () => {
    const stamp = Date.now().toString(36);
    const named = (a: Account, short: string, displayName: string) =>
      repack(examplePackage("hello", a.slug), (m) => ({
        ...m,
        name: `@${a.slug}/${short}`,
        displayName,
      }));
    const real = await publisher("dn");
    expect(
      (await publishZip(real, named(real, `ledger-${stamp}`, `Ledger Lens ${stamp}`))).status,
    ).toBe(201);
    const thief = await publisher("dn");
    // Copied, re-cased and re-spaced, Cyrillic/Greek look-alikes, digits for letters, accents.
    for (const borrowed of [
      `Ledger Lens ${stamp}`,
      `LEDGER-LENS ${stamp.toUpperCase()}`,
      `Lеdgеr Lеns ${stamp}`.replace("L", "Ⅼ"),
      `Ledger Lens ${stamp}`.replace(/e/g, "3"),
      `Lédger Lens ${stamp}`,
      `Lеdger Lens ${stamp}`,
    ]) {
      const res = await publishZip(
        thief,
        named(thief, `mine-${Math.random().toString(36).slice(2, 8)}`, borrowed),
      );
      expect(res.status, borrowed).toBe(409);
      const p = await problem(res);
      expect(p.type).toMatch(/confusable-display-name$/);
      expect(p.detail).toContain(`@${real.slug}/ledger-${stamp}`);
    }
    // A listing's default display name (from its package name) is borrowed the same way.
    expect((await publishZip(real, examplePackage("advanced-analytics", real.slug))).status).toBe(
      201,
    );
    expect(
      (await publishZip(thief, named(thief, `aa-${stamp}`, "Advanced Analytics"))).status,
    ).toBe(409);
    // Its own name stays its own: a new version, and another listing of the same publisher.
    expect(
      (
        await publishZip(
          real,
          repack(named(real, `ledger-${stamp}`, `Ledger Lens ${stamp}`), (m) => ({
            ...m,
            version: "1.0.1",
          })),
        )
      ).status,
    ).toBe(201);
    expect(
      (await publishZip(real, named(real, `ledger-pro-${stamp}`, `Ledger Lens ${stamp}`))).status,
    ).toBe(201);
    // A name of its own is fine.
    expect(
      (await publishZip(thief, named(thief, `own-${stamp}`, `Thief's Own ${stamp}`))).status,
    ).toBe(201);
  });
});

describe("yanking and suspending", () => {
  it("yanks a version from browse and new installs while existing installs keep working", async () => {
    const a = await publisher("y");
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug, "1.1.0"));
    expect((await publishZip(a, examplePackage("hello", a.slug, "1.2.0"))).status).toBe(201);
    const name = `@${a.slug}/hello`;
    expect(((await (await listing(name)).json()) as { latestVersion: string }).latestVersion).toBe(
      "1.2.0",
    );
    expect(
      (await call(`/v1/plugins/${name}/versions/1.1.0/yank`, { method: "POST", key: a.apiKey }))
        .status,
    ).toBe(200);
    expect(
      (await call(`/v1/plugins/${name}/versions/1.2.0/yank`, { method: "POST", key: a.apiKey }))
        .status,
    ).toBe(200);
    expect((await listing(name)).status).toBe(404);
    expect(
      (
        await installPlugin(a, {
          plugin: name,
          version: "1.1.0",
          grants: ["storage"],
          environment: "staging",
        })
      ).status,
    ).toBe(404);
    expect((await call(`${inst.endpoint}/hello/still`, { key: a.apiKey })).status).toBe(200);
    expect(
      (await call(`/v1/plugins/${name}/versions/1.1.0/yank`, { method: "POST", key: a.apiKey }))
        .status,
    ).toBe(409);
    const other = await publisher("y");
    expect(
      (await call(`/v1/plugins/${name}/versions/1.0.0/yank`, { method: "POST", key: other.apiKey }))
        .status,
    ).toBe(404);
  });

  it("undoes a yank: the version is published again, once, and only by its publisher", async () => {
    const a = await publisher("y");
    await publishZip(a, examplePackage("hello", a.slug, "1.0.0"));
    const name = `@${a.slug}/hello`;
    const path = `/v1/plugins/${name}/versions/1.0.0/yank`;
    expect((await call(path, { method: "POST", key: a.apiKey })).status).toBe(200);
    expect((await listing(name)).status).toBe(404);
    const other = await publisher("y");
    expect((await call(path, { method: "DELETE", key: other.apiKey })).status).toBe(404);
    const undone = await call(path, { method: "DELETE", key: a.apiKey });
    expect(undone.status).toBe(200);
    expect(await undone.json()).toEqual({ plugin: name, version: "1.0.0", status: "published" });
    expect(((await (await listing(name)).json()) as { latestVersion: string }).latestVersion).toBe(
      "1.0.0",
    );
    expect(
      (await installPlugin(a, { plugin: name, grants: ["storage"], environment: "staging" }))
        .status,
    ).toBe(201);
    // Only a yanked version can be published again (a suspended one is the operator's call).
    const again = await call(path, { method: "DELETE", key: a.apiKey });
    expect(again.status).toBe(409);
    expect((await problem(again)).detail).toMatch(/Only a yanked version/);
  });

  it("falls back to the highest remaining published version", async () => {
    const a = await publisher("y");
    await publishZip(a, examplePackage("hello", a.slug, "1.0.0"));
    await publishZip(a, examplePackage("hello", a.slug, "2.0.0"));
    await call(`/v1/plugins/@${a.slug}/hello/versions/2.0.0/yank`, {
      method: "POST",
      key: a.apiKey,
    });
    expect(
      ((await (await listing(`@${a.slug}/hello`)).json()) as { latestVersion: string })
        .latestVersion,
    ).toBe("1.0.0");
    const inst = (await (
      await installPlugin(a, { plugin: `@${a.slug}/hello`, grants: ["storage"] })
    ).json()) as { version: string };
    expect(inst.version).toBe("1.0.0");
  });

  it("suspends a listing: hidden, no new installs, existing installs running; and reinstates it", async () => {
    const a = await publisher("s");
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug));
    const name = `@${a.slug}/hello`;
    const res = await op(
      `/v1/operator/listings/${name}/suspension`,
      { suspended: true, reason: "abuse report" },
      "PUT",
    );
    expect(await res.json()).toEqual({ name, suspended: true, mode: "hide", listed: false });
    expect((await listing(name)).status).toBe(404);
    const search = (await (await call(`/v1/marketplace/listings?q=${a.slug}`)).json()) as {
      listings: unknown[];
    };
    expect(search.listings).toEqual([]);
    const refused = await installPlugin(a, {
      plugin: name,
      grants: ["storage"],
      environment: "production",
    });
    expect(refused.status).toBe(403);
    expect((await call(`${inst.endpoint}/hello/x`, { key: a.apiKey })).status).toBe(200);
    await op(`/v1/operator/listings/${name}/suspension`, { suspended: false }, "PUT");
    expect((await listing(name)).status).toBe(200);
  });
});
