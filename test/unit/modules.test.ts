import { describe, expect, it } from "vitest";
import { checkModules, resolveSpecifier } from "../../src/catalog/modules";

const handler = "export default { fetch() { return new Response('ok'); } };";

describe("module check at publish (static, runs no code)", () => {
  it("accepts a plain Worker module, and does not run its top level", () => {
    expect(checkModules({ "index.js": `for (;;) {}\n${handler}` }, "index.js")).toEqual({
      ok: true,
    });
    expect(checkModules({ "index.js": `throw new Error("x");\n${handler}` }, "index.js")).toEqual({
      ok: true,
    });
  });

  it.each([
    ["export default", handler],
    [
      "a default class",
      `import { WorkerEntrypoint } from "cloudflare:workers"; export default class extends WorkerEntrypoint {}`,
    ],
    ["export { x as default }", `const x = {}; export { x as default };`],
    ['export { x as "default" }', `const x = {}; export { x as "default" };`],
    ["export * as default from", `export * as default from "./lib.js";`],
    ["a default re-exported through another module", `export { default } from "./lib.js";`],
    ["a default re-exported from a builtin", `export { default } from "cloudflare:workers";`],
  ])("finds the entry's default export: %s", (_label, source) => {
    expect(checkModules({ "index.js": source, "lib.js": handler }, "index.js")).toEqual({
      ok: true,
    });
  });

  it("refuses an entry whose default re-export leads nowhere (a cycle, or a module without one)", () => {
    expect(
      checkModules(
        {
          "index.js": `export { default } from "./a.js";`,
          "a.js": `export { default } from "./index.js";`,
        },
        "index.js",
      ),
    ).toMatchObject({
      ok: false,
      module: "index.js",
      error: expect.stringMatching(/default export/),
    });
    expect(
      checkModules(
        { "index.js": `export { default } from "./a.js";`, "a.js": "export const a = 1;" },
        "index.js",
      ),
    ).toMatchObject({ ok: false, error: expect.stringMatching(/default export/) });
  });

  it("refuses a syntax error in any module, naming the module and the position", () => {
    expect(
      checkModules({ "index.js": handler, "lib/x.mjs": "export const = 1;" }, "index.js"),
    ).toMatchObject({
      ok: false,
      module: "lib/x.mjs",
      error: expect.stringMatching(/Unexpected token \(1:13\)/),
    });
    // Script-only syntax is not valid in a module.
    expect(
      checkModules({ "index.js": `with (globalThis) {}\n${handler}` }, "index.js"),
    ).toMatchObject({ ok: false, module: "index.js" });
  });

  it("refuses input nested deeply enough to exhaust the parser's stack, without crashing", () => {
    const r = checkModules(
      { "index.js": `export default ${"(".repeat(100_000)}1${")".repeat(100_000)};` },
      "index.js",
    );
    expect(r).toMatchObject({ ok: false, module: "index.js" });
  });

  it.each([
    ["a missing relative module", `import "./nope.js";`, /nope\.js is not a module/],
    ["a bare package name", `import { Hono } from "hono";`, /"hono"/],
    ["a path above the package root", `import "../../etc/passwd.js";`, /outside the package/],
    ["a URL", `import "https://evil.example/x.js";`, /only modules in the package/],
    [
      "a data: URL",
      `import "data:text/javascript,export default 1";`,
      /only modules in the package/,
    ],
    ["a query string", `import "./lib.js?x=1";`, /not a module/],
    ["a re-export from a missing module", `export * from "./gone.js";`, /gone\.js/],
    ["a named re-export from a missing module", `export { a } from "./gone.js";`, /gone\.js/],
  ])("refuses an import of %s", (_label, line, error) => {
    expect(
      checkModules(
        { "index.js": `${line}\n${handler}`, "lib.js": "export const a = 1;" },
        "index.js",
      ),
    ).toMatchObject({ ok: false, module: "index.js", error: expect.stringMatching(error) });
  });

  it("resolves specifiers as the runtime does: relative to the importer's folder, / is the root", () => {
    expect(resolveSpecifier("index.js", "./lib/a.js")).toEqual({ path: "lib/a.js" });
    expect(resolveSpecifier("index.js", "lib/a.js")).toEqual({ path: "lib/a.js" });
    expect(resolveSpecifier("lib/a.js", "b.js")).toEqual({ path: "lib/b.js" });
    expect(resolveSpecifier("lib/a.js", "../b.js")).toEqual({ path: "b.js" });
    expect(resolveSpecifier("lib/a.js", "/b.js")).toEqual({ path: "b.js" });
    expect(resolveSpecifier("index.js", "../b.js")).toMatchObject({
      error: expect.stringMatching(/outside/),
    });
    expect(resolveSpecifier("index.js", "cloudflare:sockets")).toEqual({
      builtin: "cloudflare:sockets",
    });
    expect(resolveSpecifier("index.js", "node:buffer")).toEqual({ builtin: "node:buffer" });
  });
});
