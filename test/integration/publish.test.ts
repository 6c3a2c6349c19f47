import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, problem, signup } from "../helpers";
import { examplePackage, publishZip, rawPackage, repack } from "../plugin-helpers";

describe("POST /v1/packages", () => {
  it("publishes a package: stored in R2 under its SHA-256, recorded in D1", async () => {
    const a = await signup();
    const zip = examplePackage("hello", a.slug);
    const res = await publishZip(a, zip);
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      plugin: string;
      version: string;
      sha256: string;
      size: number;
      permissions: { permission: string; allows: string }[];
    };
    expect(body).toMatchObject({ plugin: `@${a.slug}/hello`, version: "1.0.0", size: zip.length });
    expect(body.permissions).toEqual([
      { permission: "storage", allows: "may keep data for this installation" },
    ]);
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", zip))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(body.sha256).toBe(digest);
    const object = await env.PACKAGES.get(`packages/sha256/${digest}.zip`);
    expect(object?.size).toBe(zip.length);
    const row = await env.DB.prepare("SELECT sha256, size FROM plugin_versions WHERE sha256 = ?")
      .bind(digest)
      .first();
    expect(row).toEqual({ sha256: digest, size: zip.length });
  });

  it("never overwrites a version, and refuses one that is not greater", async () => {
    const a = await signup();
    expect((await publishZip(a, examplePackage("hello", a.slug, "1.2.0"))).status).toBe(201);
    const again = await publishZip(a, examplePackage("hello", a.slug, "1.2.0"));
    expect(again.status).toBe(409);
    expect((await problem(again)).type).toMatch(/version-exists$/);
    const older = await publishZip(a, examplePackage("hello", a.slug, "1.1.9"));
    expect(older.status).toBe(409);
    expect((await problem(older)).type).toMatch(/version-not-newer$/);
    expect((await publishZip(a, examplePackage("hello", a.slug, "1.3.0"))).status).toBe(201);
  });

  it("refuses a package outside the publisher's scope", async () => {
    const a = await signup();
    const res = await publishZip(a, examplePackage("hello", "someone-else"));
    expect(res.status).toBe(403);
    expect((await problem(res)).detail).toContain(`@${a.slug}/`);
  });

  it.each([
    [
      "a truncated zip",
      (z: Uint8Array<ArrayBuffer>) => z.slice(0, z.length - 40),
      /package-corrupt$/,
    ],
    ["random bytes", () => crypto.getRandomValues(new Uint8Array(2048)), /package-corrupt$/],
  ])("refuses %s with 400 and stores nothing", async (_label, mangle, type) => {
    const a = await signup();
    const before = (await env.PACKAGES.list()).objects.length;
    const res = await publishZip(
      a,
      mangle(examplePackage("hello", a.slug)) as Uint8Array<ArrayBuffer>,
    );
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(type);
    expect((await env.PACKAGES.list()).objects.length).toBe(before);
  });

  it("refuses an invalid manifest, naming the field", async () => {
    const a = await signup();
    const res = await publishZip(
      a,
      repack(examplePackage("hello", a.slug), (m) => ({
        ...m,
        apiVersion: "7",
        permissions: ["network:127.0.0.1"],
      })),
    );
    expect(res.status).toBe(400);
    const p = await problem(res);
    const paths = (p.errors as { path: string; message: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["apiVersion", "permissions"]));
    expect(p.detail).toMatch(/supported: 1/);
    expect(p.detail).toContain("network:127.0.0.1");
  });

  it("refuses modules that do not parse, and a manifest naming a missing module", async () => {
    const a = await signup();
    const broken = await publishZip(
      a,
      rawPackage(a.slug, "export default { fetch( { syntax error"),
    );
    expect(broken.status).toBe(400);
    expect((await problem(broken)).type).toMatch(/package-module-error$/);
    const noHandler = await publishZip(a, rawPackage(a.slug, "export const x = 1;"));
    expect(noHandler.status).toBe(400);
    const missing = await publishZip(
      a,
      rawPackage(a.slug, "export default { fetch() { return new Response('x') } }", {
        entry: "main.js",
      }),
    );
    expect(missing.status).toBe(400);
    expect((await problem(missing)).detail).toContain("main.js");
  });

  it("refuses an oversized package with 413 before storing anything", async () => {
    const a = await signup();
    const big = new Uint8Array(5 * 1024 * 1024 + 1);
    const res = await publishZip(a, big);
    expect(res.status).toBe(413);
  });

  it("refuses a body that is not a zip with 415", async () => {
    const a = await signup();
    const res = await call("/v1/packages", {
      method: "POST",
      key: a.apiKey,
      json: { not: "a zip" },
    });
    expect(res.status).toBe(415);
  });

  it("publishes the manifest's JSON Schema", async () => {
    const res = await call("/schemas/manifest.json");
    expect(res.status).toBe(200);
    const schema = (await res.json()) as { $id: string; properties: Record<string, unknown> };
    expect(schema.$id).toContain("manifest.json");
    expect(schema.properties).toHaveProperty("permissions");
  });

  it("lets a member without plugins:publish not publish", async () => {
    const a = await signup();
    const narrow = (await (
      await call("/v1/api-keys", {
        method: "POST",
        key: a.apiKey,
        json: { name: "ro", scopes: ["org:read"] },
      })
    ).json()) as { key: string };
    const res = await call("/v1/packages", {
      method: "POST",
      key: narrow.key,
      body: examplePackage("hello", a.slug),
      headers: { "content-type": "application/zip" },
    });
    expect(res.status).toBe(403);
  });
});
