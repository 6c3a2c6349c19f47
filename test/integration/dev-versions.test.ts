/**
 * Development versions (`-dev.N`, what `atoll dev` publishes) are their publisher's own: no
 * review (nobody else can run them), never listed or searched, invisible to other organizations
 * — who can neither install nor upgrade to one — while the listing keeps showing the release.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { call, signup, type Account } from "../helpers";
import { examplePackage, installPlugin, publisher } from "../plugin-helpers";

/** Review on, as in production: a release waits for the operator, a dev version does not. */
const reviewed = { ...env, ATOLL_AUTO_APPROVE: "false" };
const publish = (a: Account, version: string) =>
  app.request(
    "http://atoll.test/v1/packages",
    {
      method: "POST",
      body: examplePackage("hello", a.slug, version),
      headers: { "x-api-key": a.apiKey, "content-type": "application/zip" },
    },
    reviewed,
  );

describe("development versions", () => {
  it("need no review, stay out of the marketplace, and only their publisher installs them", async () => {
    const dev = await publisher("dv");
    const name = `@${dev.slug}/hello`;
    const res = await publish(dev, "0.1.0-dev.0");
    expect(res.status).toBe(201);
    expect(((await res.json()) as { status: string }).status).toBe("published");
    expect((await call(`/v1/marketplace/listings/${name}`)).status).toBe(404);
    const search = (await (await call(`/v1/marketplace/listings?q=${dev.slug}`)).json()) as {
      listings: { name: string }[];
    };
    expect(search.listings.map((l) => l.name)).not.toContain(name);

    const other = await signup("dvo");
    const theirs = await installPlugin(other, {
      plugin: name,
      version: "0.1.0-dev.0",
      grants: ["storage"],
    });
    expect(theirs.status).toBe(404);
    expect((await installPlugin(other, { plugin: name, grants: ["storage"] })).status).toBe(404);
    expect((await call(`/v1/plugins/${name}`, { key: other.apiKey })).status).toBe(404);

    const mine = await installPlugin(dev, {
      plugin: name,
      version: "0.1.0-dev.0",
      environment: "development",
      grants: ["storage"],
    });
    expect(mine.status).toBe(201);
    const own = (await (await call(`/v1/plugins/${name}`, { key: dev.apiKey })).json()) as {
      versions: { version: string }[];
    };
    expect(own.versions.map((v) => v.version)).toContain("0.1.0-dev.0");
  });

  it("never replace the release others see, install or upgrade to", async () => {
    const dev = await publisher("dr");
    const name = `@${dev.slug}/hello`;
    // The release, approved the way the demo does (auto-approve), then a dev build above it.
    const release = await call("/v1/packages", {
      method: "POST",
      key: dev.apiKey,
      body: examplePackage("hello", dev.slug, "1.0.0"),
      headers: { "content-type": "application/zip" },
    });
    expect(release.status).toBe(201);
    // Even where releases are auto-approved, a dev build above the release replaces nothing.
    const devBuild = await call("/v1/packages", {
      method: "POST",
      key: dev.apiKey,
      body: examplePackage("hello", dev.slug, "1.0.1-dev.0"),
      headers: { "content-type": "application/zip" },
    });
    expect(devBuild.status).toBe(201);

    const listing = (await (await call(`/v1/marketplace/listings/${name}`)).json()) as {
      latestVersion: string;
      versions: { version: string }[];
    };
    expect(listing.latestVersion).toBe("1.0.0");
    expect(listing.versions.map((v) => v.version)).toEqual(["1.0.0"]);

    const other = await signup("dro");
    const inst = await installPlugin(other, { plugin: name, grants: ["storage"] });
    expect(inst.status).toBe(201);
    const { id, version } = (await inst.json()) as { id: string; version: string };
    expect(version).toBe("1.0.0");
    const upgrade = await call(`/v1/installations/${id}`, {
      method: "PATCH",
      key: other.apiKey,
      json: { version: "1.0.1-dev.0" },
    });
    expect(upgrade.status).toBe(404);
    const doc = (await (await call(`/v1/marketplace/listings/${name}/openapi.json`)).json()) as {
      info: { version: string };
    };
    expect(doc.info.version).toBe("1.0.0");
  });
});
