/**
 * Broken object-level authorization: every object-scoped route, called by another organization's
 * owner (all scopes), must neither reveal nor change the object.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { OPERATOR_KEY, call } from "../helpers";
import { examplePackage, publishAndInstall, publishZip, publisher } from "../plugin-helpers";

describe("one organization against another's objects", () => {
  it("gets 404/403 on every object-scoped route, and changes nothing", async () => {
    const owner = await publisher("own");
    const inst = await publishAndInstall(owner, examplePackage("hello", owner.slug, "1.0.0"));
    const name = `@${owner.slug}/hello`;
    // A version waiting for review (drafts are the owner's business).
    await app.request(
      "http://atoll.test/v1/packages",
      {
        method: "POST",
        body: examplePackage("hello", owner.slug, "1.1.0"),
        headers: { "x-api-key": owner.apiKey, "content-type": "application/zip" },
      },
      { ...env, ATOLL_AUTO_APPROVE: "false" },
    );
    // A user of another organization reviews it (after a day's use: the rating rule).
    const fan = await publisher("fan");
    const used = (await (
      await call("/v1/installations", {
        method: "POST",
        key: fan.apiKey,
        json: { plugin: name, grants: ["storage"] },
      })
    ).json()) as { id: string; endpoint: string };
    for (let i = 0; i < 3; i++) await call(`${used.endpoint}/hello/f${i}`, { key: fan.apiKey });
    await env.DB.prepare("UPDATE installations SET created_at = created_at - 90000000 WHERE id = ?")
      .bind(used.id)
      .run();
    for (
      let i = 0;
      i < 60 &&
      ((
        await env.DB.prepare(
          "SELECT SUM(calls) AS n FROM usage_rollups WHERE installation_id = ? AND granularity = 'day'",
        )
          .bind(used.id)
          .first<{ n: number | null }>()
      )?.n ?? 0) < 3;
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    expect(
      (
        await call(`/v1/marketplace/listings/${name}/rating`, {
          method: "PUT",
          key: fan.apiKey,
          json: { stars: 4, review: "mine" },
        })
      ).status,
    ).toBe(200);
    const ratingId = (
      (await (await call(`/v1/marketplace/listings/${name}/ratings`)).json()) as {
        reviews: { id: string }[];
      }
    ).reviews[0]?.id;

    const intruder = await publisher("int");
    const k = intruder.apiKey;
    const attempts: [string, string, unknown?, number[]?][] = [
      ["GET", `/v1/installations/${inst.id}`],
      ["PATCH", `/v1/installations/${inst.id}`, { version: "1.0.0" }],
      ["DELETE", `/v1/installations/${inst.id}`],
      ["POST", `/v1/installations/${inst.id}/execute`, { input: {} }],
      ["GET", `/v1/installations/${inst.id}/history`],
      ["GET", `${inst.endpoint}/hello/x`],
      ["POST", `/v1/plugins/${name}/versions/1.0.0/yank`],
      [
        "POST",
        `/v1/marketplace/listings/${name}/ratings/${ratingId}/reply`,
        { text: "not yours" },
        [403],
      ],
      ["PUT", `/v1/operator/listings/${name}/suspension`, { suspended: true }, [403]],
      ["PUT", `/v1/operator/organizations/${owner.orgId}/verified`, { verified: true }, [403]],
      ["GET", `/v1/organizations/${owner.orgId}/audit-log`],
    ];
    for (const [method, path, json, allowed = [404]] of attempts) {
      const res = await call(path, { method, key: k, ...(json !== undefined ? { json } : {}) });
      expect(allowed, `${method} ${path} answered ${res.status}`).toContain(res.status);
    }
    // The intruder sees only the published version of the owner's plugin, without review notes.
    const versions = (await (await call(`/v1/plugins/${name}`, { key: k })).json()) as {
      versions: { version: string; status: string }[];
    };
    expect(versions.versions.map((v) => v.status)).toEqual(["published"]);
    const ownView = (await (await call(`/v1/plugins/${name}`, { key: owner.apiKey })).json()) as {
      versions: { status: string }[];
    };
    expect(ownView.versions.map((v) => v.status).sort()).toEqual(["in_review", "published"]);
    // Nothing changed.
    expect((await call(`${inst.endpoint}/hello/x`, { key: owner.apiKey })).status).toBe(200);
    expect(
      ((await (await call(`/v1/marketplace/listings/${name}`)).json()) as { latestVersion: string })
        .latestVersion,
    ).toBe("1.0.0");
  });
});

describe("verified publishers and per-version installs", () => {
  it("shows the operator's verification on listings, and installs per version", async () => {
    const a = await publisher("v");
    await publishAndInstall(a, examplePackage("hello", a.slug, "1.0.0"));
    await publishZip(a, examplePackage("hello", a.slug, "1.1.0"));
    const res = await call(`/v1/operator/organizations/${a.orgId}/verified`, {
      method: "PUT",
      key: OPERATOR_KEY,
      json: { verified: true },
    });
    expect(await res.json()).toMatchObject({ verified: true });
    const page = (await (await call(`/v1/marketplace/listings/@${a.slug}/hello`)).json()) as {
      publisherVerified: boolean;
      versions: { version: string; installs: number }[];
    };
    expect(page.publisherVerified).toBe(true);
    expect(page.versions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ version: "1.0.0", installs: 1 }),
        expect.objectContaining({ version: "1.1.0", installs: 0 }),
      ]),
    );
    const search = (await (await call(`/v1/marketplace/listings?q=${a.slug}`)).json()) as {
      listings: { publisherVerified: boolean }[];
    };
    expect(search.listings[0]?.publisherVerified).toBe(true);
  });
});
