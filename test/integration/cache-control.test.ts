import { describe, expect, it } from "vitest";
import { call, signup } from "../helpers";
import { examplePackage, publishAndInstall, publisher } from "../plugin-helpers";

describe("Cache-Control", () => {
  it.each([
    ["GET /v1/me", "/v1/me", {}],
    ["GET /v1/installations", "/v1/installations", {}],
    ["GET /v1/connections", "/v1/connections", {}],
    ["GET /v1/keys", "/v1/keys", {}],
  ])("marks the authenticated answer to %s private, no-store", async (_what, path) => {
    const a = await signup("cc");
    const res = await call(path, { key: a.apiKey });
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
  });

  it("marks a public marketplace answer cacheable only without a credential, varying on the credential headers", async () => {
    const anon = await call("/v1/marketplace/listings");
    expect(anon.status).toBe(200);
    expect(anon.headers.get("cache-control")).toMatch(/^public, max-age=\d+$/);
    expect(anon.headers.get("vary")).toMatch(/X-API-Key/);
    const a = await signup("cc");
    const withKey = await call("/v1/marketplace/listings", { key: a.apiKey });
    expect(withKey.headers.get("cache-control")).toBe("private, no-store");
  });

  it("never lets a shared cache keep a refused credential or a sign-up's new key", async () => {
    expect(
      (await call("/v1/me", { key: "atoll_live_not-a-real-key" })).headers.get("cache-control"),
    ).toBe("private, no-store");
    const res = await call("/v1/signup", {
      method: "POST",
      json: {
        email: `cc${Date.now()}@example.test`,
        name: "C C",
        organization: { name: "CC", slug: `cc-${Date.now()}` },
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("marks an authenticated plugin answer private, no-store whatever the plugin says", async () => {
    const a = await publisher("ccp");
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug, "1.0.0"), {
      config: { greeting: "Hi" },
    });
    const res = await call(`${inst.endpoint}/hello/Ada`, { key: a.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
  });
});
