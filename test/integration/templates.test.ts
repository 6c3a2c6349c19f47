import { strToU8, unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { buy, buyer, setupPayments } from "../revenue-helpers";
import { call, problem } from "../helpers";
import { examplePackage, publishZip, publisher } from "../plugin-helpers";

function templateZip(scope: string, name: string, pricing: unknown = { model: "free" }) {
  const manifest = {
    name: `@${scope}/${name}`,
    version: "1.0.0",
    description: "A starter",
    author: "t",
    kind: "template",
    entry: "index.js",
    apiVersion: "1",
    pricing,
  };
  return zipSync({
    "manifest.json": strToU8(JSON.stringify(manifest)),
    "index.js": strToU8("export default { fetch() { return new Response('template') } }"),
    "template/manifest.json": strToU8("{}"),
    "template/src/index.ts": strToU8("export default {};"),
  }) as Uint8Array<ArrayBuffer>;
}

describe("template packages", () => {
  it("downloads a free template's latest package, with its starter project", async () => {
    const a = await publisher("t");
    expect((await publishZip(a, templateZip(a.slug, "starter"))).status).toBe(201);
    const res = await call(`/v1/marketplace/listings/@${a.slug}/starter/package`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    expect(Object.keys(files)).toEqual(
      expect.arrayContaining(["template/src/index.ts", "manifest.json"]),
    );
  });

  it("does not hand out plugins' packages, and hands paid templates only to their buyers", async () => {
    const a = await publisher("t");
    await publishZip(a, examplePackage("hello", a.slug));
    expect((await call(`/v1/marketplace/listings/@${a.slug}/hello/package`)).status).toBe(404);
    await publishZip(
      a,
      templateZip(a.slug, "premium", { model: "one-time", amount: 900, currency: "USD" }),
    );
    const anon = await call(`/v1/marketplace/listings/@${a.slug}/premium/package`);
    expect(anon.status).toBe(402);
    expect((await problem(anon)).detail).toMatch(/GET \/v1\/templates\//);

    await setupPayments();
    const b = await buyer();
    const bought = `/v1/templates/@${a.slug}/premium/package`;
    expect((await call(bought, { key: b.apiKey })).status).toBe(402);
    expect((await buy(b, `@${a.slug}/premium`)).status).toBe(201);
    const res = await call(bought, { key: b.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(Object.keys(unzipSync(new Uint8Array(await res.arrayBuffer())))).toContain(
      "template/src/index.ts",
    );
    expect((await call(bought, { key: a.apiKey })).status).toBe(200);
    expect((await call(bought)).status).toBe(401);
  });
});
