import { describe, expect, it } from "vitest";
import {
  effectiveLimits,
  routePathProblem,
  manifestJsonSchema,
  splitName,
  validateManifest,
} from "../../src/contract/manifest";

export const base = {
  name: "@acme/hello",
  version: "1.0.0",
  description: "Says hello",
  author: "Acme",
  kind: "plugin",
  entry: "index.js",
  apiVersion: "1",
};

describe("manifest validation", () => {
  it("accepts a minimal manifest and fills defaults", () => {
    const r = validateManifest(base);
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.manifest).toMatchObject({
        permissions: [],
        pricing: { model: "free" },
        license: "UNLICENSED",
      });
    // No routes declared: none are filled in (the gateway then lets every path through).
    if (r.ok) expect(r.manifest.routes).toBeUndefined();
  });

  it.each([
    ["an unscoped name", { name: "hello" }, "name"],
    ["upper case in the name", { name: "@Acme/hello" }, "name"],
    ["a non-semver version", { version: "1.0" }, "version"],
    ["an unknown kind", { kind: "daemon" }, "kind"],
    ["an entry outside the package", { entry: "../evil.js" }, "entry"],
    ["a forbidden permission", { permissions: ["network:169.254.169.254"] }, "permissions"],
    ["an unknown field", { backdoor: true }, "(manifest)"],
    [
      "float money",
      { pricing: { model: "one-time", amount: 9.99, currency: "USD" } },
      "pricing.amount",
    ],
    ["a limit above the platform cap", { limits: { cpuMs: 60_000 } }, "limits.cpuMs"],
  ])("refuses %s, naming the field", (_label, patch, field) => {
    const r = validateManifest({ ...base, ...patch });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toContain(field);
  });

  it("refuses an unsupported apiVersion with the supported ones", () => {
    const r = validateManifest({ ...base, apiVersion: "99" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.message).toMatch(/not supported.*supported: 1/);
  });

  it("names the offending permission", () => {
    const r = validateManifest({ ...base, permissions: ["storage", "network:localhost"] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.message).toContain("network:localhost");
  });

  it("caps runtime limits", () => {
    const r = validateManifest({ ...base, limits: { cpuMs: 200 } });
    expect(r.ok && effectiveLimits(r.manifest)).toEqual({ cpuMs: 200, subrequests: 10 });
  });

  it("splits a scoped name", () => {
    expect(splitName("@acme/hello")).toEqual({ scope: "acme", short: "hello" });
  });

  it("is published as JSON Schema", () => {
    const schema = manifestJsonSchema() as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["name", "version", "permissions", "limits", "pricing"]),
    );
    expect(schema.required).toEqual(
      expect.arrayContaining(["name", "version", "entry", "apiVersion"]),
    );
  });
});

describe("route paths (they become paths under /p/{installationId} in SDKs and documents)", () => {
  it.each([
    "/",
    "/charges",
    "/charges/{id}",
    "/hello/:name",
    "/x/{a-b}/{class}",
    "/{__proto__}/{constructor}",
    "/files/*",
    "/v1.0/report~daily",
    "/trailing/",
  ])("takes %s", (path) => {
    expect(routePathProblem(path)).toBeNull();
  });

  it.each([
    ["/../../v1/api-keys", /\. or \.\./],
    ["/a/../b", /\. or \.\./],
    ["/./x", /\. or \.\./],
    ["/a//b", /empty segment/],
    ["/__atoll/initialize", /__atoll/],
    ["/__ATOLL/x", /__atoll/],
    ["/*/x", /last segment/],
    ["/a{b}", /literal/],
    ["/{x}y", /literal/],
    ["/{1x}", /literal/],
    ["relative", /start with \//],
    ["/d/{installationId}", /installationId/],
    ["/a/{id}/b/{id}", /twice/],
    ["/a/:id/b/{id}", /twice/],
  ])("refuses %s", (path, why) => {
    expect(routePathProblem(path)).toMatch(why);
  });

  it("refuses an escaping route in a manifest, naming the field", () => {
    const r = validateManifest({
      name: "@acme/m",
      version: "1.0.0",
      description: "d",
      author: "a",
      kind: "plugin",
      entry: "index.js",
      apiVersion: "1",
      routes: [{ method: "POST", path: "/../../v1/api-keys", summary: "Send a message" }],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toContain("routes.0.path");
  });
});
