/**
 * Hostile publishers: packages built to hurt the gateway at publish time. Publishing runs no
 * publisher code (the modules are parsed, not loaded), and every refusal is a 400 naming what
 * was wrong.
 */
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { call, problem, signup } from "../helpers";
import { installPlugin, publishZip, publisher, rawPackage } from "../plugin-helpers";

const handler = "export default { fetch() { return new Response('ok'); } };";

function modulesPackage(
  scope: string,
  files: Record<string, string>,
  entry = "index.js",
): Uint8Array<ArrayBuffer> {
  const m = {
    name: `@${scope}/mods-${Math.random().toString(36).slice(2, 8)}`,
    version: "1.0.0",
    description: "test plugin",
    author: "tests",
    kind: "plugin",
    entry,
    apiVersion: "1",
  };
  return zipSync({
    "manifest.json": strToU8(JSON.stringify(m)),
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])),
  }) as Uint8Array<ArrayBuffer>;
}

describe("POST /v1/packages runs no publisher code", () => {
  it("answers a package whose top level spins forever without running it, and keeps answering", async () => {
    const a = await signup();
    // Before: the gateway loaded this module to probe it, and froze until restart.
    const res = await publishZip(a, rawPackage(a.slug, `for (;;) {}\n${handler}`));
    expect(res.status).toBe(201);
    const health = await call("/healthz");
    expect(health.status).toBe(200);
  });

  it("does not run top-level code that would throw (the call fails later, inside the plugin's isolate)", async () => {
    const a = await signup();
    const res = await publishZip(
      a,
      rawPackage(a.slug, `throw new Error("at import");\n${handler}`),
    );
    expect(res.status).toBe(201);
  });

  it.each([
    [
      "a syntax error",
      { "index.js": "export default { fetch( { oops" },
      "index.js",
      /index\.js: Unexpected token/,
    ],
    [
      "a syntax error in a module the entry does not import",
      { "index.js": handler, "lib/broken.mjs": "export const = 1;" },
      "lib/broken.mjs",
      /lib\/broken\.mjs/,
    ],
    [
      "an entry without a default export",
      { "index.js": "export const fetch = () => new Response('x');" },
      "index.js",
      /default export/,
    ],
    [
      "an import of a module that is not in the package",
      { "index.js": `import { x } from "./lib/missing.js";\n${handler}` },
      "index.js",
      /lib\/missing\.js/,
    ],
    [
      "a bare package import (dependencies must be bundled)",
      { "index.js": `import { Hono } from "hono";\n${handler}` },
      "index.js",
      /"hono"/,
    ],
    [
      "an import that climbs out of the package",
      { "index.js": `import { x } from "../outside.js";\n${handler}` },
      "index.js",
      /outside/,
    ],
    [
      "a re-export from a module that is not in the package",
      { "index.js": `export * from "./gone.js";\n${handler}` },
      "index.js",
      /gone\.js/,
    ],
    [
      "an unknown URL scheme",
      { "index.js": `import x from "https://evil.example/x.js";\n${handler}` },
      "index.js",
      /https:/,
    ],
    [
      "nesting deep enough to exhaust the parser's stack",
      { "index.js": `export default ${"[".repeat(30_000)}${"]".repeat(30_000)};` },
      "index.js",
      /index\.js/,
    ],
  ])(
    "refuses %s with 400 package-module-error naming the module",
    async (_label, files, module, detail) => {
      const a = await signup();
      const res = await publishZip(a, modulesPackage(a.slug, files));
      expect(res.status).toBe(400);
      const p = await problem(res);
      expect(p.type).toMatch(/package-module-error$/);
      expect(p.detail).toContain(module);
      expect(p.detail).toMatch(detail);
    },
  );

  it("accepts modules that import each other, builtins, and re-exported defaults", async () => {
    const a = await signup();
    const res = await publishZip(
      a,
      modulesPackage(a.slug, {
        "index.js": `export { default } from "./lib/main.js";`,
        "lib/main.js": `import { WorkerEntrypoint } from "cloudflare:workers";\nimport { greet } from "util.mjs";\nimport { two } from "../two.js";\nexport default class extends WorkerEntrypoint { fetch() { return new Response(greet() + two); } }`,
        "lib/util.mjs": `export const greet = () => "hi";`,
        "two.js": `export const two = 2;`,
      }),
    );
    expect(res.status).toBe(201);
  });
});

/**
 * `{ type: "object", properties: { k…: { type: "object", properties: { k…: … } } } }`, n levels,
 * as JSON text (JSON.stringify would overflow the stack), with random names so that it does not
 * compress past the archive's ratio limit (which would answer 413 first).
 */
function nestedJson(levels: number): string {
  const open = Array.from(
    { length: levels },
    () => `{"type":"object","properties":{"k${Math.random().toString(36).slice(2, 10)}":`,
  );
  return `${open.join("")}{"type":"string"}${"}}".repeat(levels)}`;
}

/** rawPackage, with the config schema spliced into manifest.json as text. */
function packageWithConfigText(scope: string, configJson: string): Uint8Array<ArrayBuffer> {
  const m = {
    name: `@${scope}/deep-${Math.random().toString(36).slice(2, 8)}`,
    version: "1.0.0",
    description: "test plugin",
    author: "tests",
    kind: "plugin",
    entry: "index.js",
    apiVersion: "1",
  };
  const text = `${JSON.stringify(m).slice(0, -1)},"config":${configJson}}`;
  return zipSync({
    "manifest.json": strToU8(text),
    "index.js": strToU8(handler),
  }) as Uint8Array<ArrayBuffer>;
}

describe("POST /v1/packages: the manifest's config schema", () => {
  it.each([
    [
      "a catastrophic-backtracking pattern",
      { type: "object", properties: { name: { type: "string", pattern: "^(a+)+$" } } },
      /"pattern" at \/properties\/name\/pattern/,
    ],
    [
      "a recursive $ref",
      { type: "object", properties: { node: { $ref: "#" } } },
      /"\$ref" at \/properties\/node\/\$ref/,
    ],
    [
      "an invalid regex",
      { type: "object", properties: { name: { type: "string", pattern: "([" } } },
      /"pattern" at \/properties\/name\/pattern/,
    ],
    ["a 10,000-deep nesting", nestedJson(10_000), /deeper than 32 levels/],
    [
      "a huge schema",
      {
        type: "object",
        properties: Object.fromEntries(
          Array.from({ length: 5_000 }, (_, i) => [
            `p${i}`,
            { type: "string", description: "x".repeat(100) },
          ]),
        ),
      },
      /more than 2000 nodes/,
    ],
  ])(
    "refuses %s with 400, naming the keyword and its JSON pointer",
    async (_label, config, detail) => {
      const a = await signup();
      const before = (await env.PACKAGES.list()).objects.length;
      const res = await publishZip(
        a,
        typeof config === "string"
          ? packageWithConfigText(a.slug, config)
          : rawPackage(a.slug, handler, { config }),
      );
      expect(res.status).toBe(400);
      const p = await problem(res);
      expect(p.type).toMatch(/package-manifest$/);
      expect(p.detail).toMatch(detail);
      expect(p.errors).toEqual([{ path: "config", message: expect.stringMatching(detail) }]);
      expect((await env.PACKAGES.list()).objects.length).toBe(before);
    },
  );

  it("accepts a schema inside the subset", async () => {
    const a = await signup();
    const config = {
      type: "object",
      properties: {
        greeting: { type: "string", maxLength: 40 },
        key: { type: "string", writeOnly: true },
        when: { type: "string", format: "date" },
      },
      additionalProperties: false,
    };
    expect((await publishZip(a, rawPackage(a.slug, handler, { config }))).status).toBe(201);
  });

  it("refuses to install a version whose stored schema predates the rule, at once and without evaluating it", async () => {
    const a = await publisher();
    const pub = await publishZip(
      a,
      rawPackage(a.slug, handler, {
        config: { type: "object", properties: { name: { type: "string" } } },
      }),
    );
    expect(pub.status).toBe(201);
    const { plugin, sha256 } = (await pub.json()) as { plugin: string; sha256: string };
    // As a version published before the check would be stored.
    const row = await env.DB.prepare("SELECT manifest FROM plugin_versions WHERE sha256 = ?")
      .bind(sha256)
      .first<{ manifest: string }>();
    const manifest = JSON.parse(row?.manifest ?? "{}") as Record<string, unknown>;
    manifest.config = {
      type: "object",
      properties: { name: { type: "string", pattern: "^(a+)+$" } },
    };
    await env.DB.prepare("UPDATE plugin_versions SET manifest = ? WHERE sha256 = ?")
      .bind(JSON.stringify(manifest), sha256)
      .run();
    const res = await installPlugin(a, {
      plugin,
      grants: [],
      config: { name: `${"a".repeat(40)}!` },
    });
    expect(res.status).toBe(400);
    expect((await problem(res)).detail).toMatch(/"pattern" at \/properties\/name\/pattern/);
    expect((await call("/healthz")).status).toBe(200);
  });
});
