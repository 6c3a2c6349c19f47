/**
 * Hostile publishers: packages built to hurt the gateway at publish time. Publishing runs no
 * publisher code (the modules are parsed, not loaded), and every refusal is a 400 naming what
 * was wrong.
 */
import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { call, problem, signup } from "../helpers";
import { publishZip, rawPackage } from "../plugin-helpers";

const handler = "export default { fetch() { return new Response('ok'); } };";

function modulesPackage(scope: string, files: Record<string, string>, entry = "index.js"): Uint8Array<ArrayBuffer> {
  const m = { name: `@${scope}/mods-${Math.random().toString(36).slice(2, 8)}`, version: "1.0.0", description: "test plugin", author: "tests", kind: "plugin", entry, apiVersion: "1" };
  return zipSync({ "manifest.json": strToU8(JSON.stringify(m)), ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])) }) as Uint8Array<ArrayBuffer>;
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
    const res = await publishZip(a, rawPackage(a.slug, `throw new Error("at import");\n${handler}`));
    expect(res.status).toBe(201);
  });

  it.each([
    ["a syntax error", { "index.js": "export default { fetch( { oops" }, "index.js", /index\.js: Unexpected token/],
    ["a syntax error in a module the entry does not import", { "index.js": handler, "lib/broken.mjs": "export const = 1;" }, "lib/broken.mjs", /lib\/broken\.mjs/],
    ["an entry without a default export", { "index.js": "export const fetch = () => new Response('x');" }, "index.js", /default export/],
    ["an import of a module that is not in the package", { "index.js": `import { x } from "./lib/missing.js";\n${handler}` }, "index.js", /lib\/missing\.js/],
    ["a bare package import (dependencies must be bundled)", { "index.js": `import { Hono } from "hono";\n${handler}` }, "index.js", /"hono"/],
    ["an import that climbs out of the package", { "index.js": `import { x } from "../outside.js";\n${handler}` }, "index.js", /outside/],
    ["a re-export from a module that is not in the package", { "index.js": `export * from "./gone.js";\n${handler}` }, "index.js", /gone\.js/],
    ["an unknown URL scheme", { "index.js": `import x from "https://evil.example/x.js";\n${handler}` }, "index.js", /https:/],
    ["nesting deep enough to exhaust the parser's stack", { "index.js": `export default ${"[".repeat(30_000)}${"]".repeat(30_000)};` }, "index.js", /index\.js/],
  ])("refuses %s with 400 package-module-error naming the module", async (_label, files, module, detail) => {
    const a = await signup();
    const res = await publishZip(a, modulesPackage(a.slug, files));
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.type).toMatch(/package-module-error$/);
    expect(p.detail).toContain(module);
    expect(p.detail).toMatch(detail);
  });

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
