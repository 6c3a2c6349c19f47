/**
 * Checks a package's ES modules at publish without running any of them: each `.js`/`.mjs` must
 * parse as an ES module (latest ECMAScript), each static import and re-export must name a module
 * in the package or a runtime builtin (`cloudflare:*`, `node:*`), and the entry module must have a
 * default export (the plugin's handler). Pure, no I/O; the work is one parse per module, bounded
 * by PACKAGE_LIMITS.maxModuleBytes, and each module's syntax tree is dropped once summarized.
 *
 * Specifiers resolve the way the plugin runtime (workerd) resolves them: relative to the
 * importing module's folder unless they start with "/" (the package root), "." and ".."
 * segments applied, never above the root.
 */
import { parse, type Identifier, type Literal, type Program } from "acorn";
import type { NoFields, Result } from "../contract/result";

export type ModuleCheck = Result<NoFields, { module: string; error: string }>;

/** Specifier prefixes the runtime provides itself. */
export const BUILTIN_PREFIXES = ["cloudflare:", "node:"] as const;

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

interface Summary {
  /** Every static `import … from` / `export … from` specifier. */
  specifiers: string[];
  /** The module declares its own default export. */
  hasDefault: boolean;
  /** `export { default } from "x"`: the default is x's. */
  defaultFrom: string | null;
}

/**
 * Where `specifier`, imported by module `referrer`, points: a module path inside the package, a
 * builtin, or an error.
 * @example resolveSpecifier("lib/a.js", "../b.js") // { path: "b.js" }
 */
export function resolveSpecifier(
  referrer: string,
  specifier: string,
): { path: string } | { builtin: string } | { error: string } {
  if (SCHEME.test(specifier)) {
    return BUILTIN_PREFIXES.some((p) => specifier.startsWith(p))
      ? { builtin: specifier }
      : {
          error: `imports "${specifier}": only modules in the package and ${BUILTIN_PREFIXES.map((p) => `${p}*`).join(", ")} builtins can be imported`,
        };
  }
  const parts = specifier.startsWith("/") ? [] : referrer.split("/").slice(0, -1);
  for (const segment of specifier.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (parts.length === 0)
        return { error: `imports "${specifier}", which is outside the package` };
      parts.pop();
    } else parts.push(segment);
  }
  return { path: parts.join("/") };
}

const nameOf = (node: Identifier | Literal): string =>
  node.type === "Identifier" ? node.name : String(node.value);

function summarize(program: Program): Summary {
  const summary: Summary = { specifiers: [], hasDefault: false, defaultFrom: null };
  for (const node of program.body) {
    if (node.type === "ImportDeclaration") summary.specifiers.push(String(node.source.value));
    else if (node.type === "ExportDefaultDeclaration") summary.hasDefault = true;
    else if (node.type === "ExportAllDeclaration") {
      summary.specifiers.push(String(node.source.value));
      if (node.exported && nameOf(node.exported) === "default") summary.hasDefault = true;
    } else if (node.type === "ExportNamedDeclaration") {
      const source = node.source ? String(node.source.value) : null;
      if (source !== null) summary.specifiers.push(source);
      for (const s of node.specifiers) {
        if (nameOf(s.exported) !== "default") continue;
        // `export { default } from "x"` passes x's default on; any other re-export is taken on trust.
        if (source !== null && nameOf(s.local) === "default") summary.defaultFrom = source;
        else summary.hasDefault = true;
      }
    }
  }
  return summary;
}

/**
 * Parses every module and checks imports and the entry's default export.
 * @example checkModules({ "index.js": "export default { fetch() {} }" }, "index.js") // { ok: true }
 */
export function checkModules(modules: Record<string, string>, entry: string): ModuleCheck {
  const summaries = new Map<string, Summary>();
  for (const [path, source] of Object.entries(modules)) {
    let program: Program;
    try {
      program = parse(source, { ecmaVersion: "latest", sourceType: "module" });
    } catch (err) {
      // Acorn reports "message (line:column)"; a stack overflow on absurd nesting lands here too.
      const message =
        err instanceof RangeError
          ? "nested too deeply to parse"
          : err instanceof Error
            ? err.message
            : String(err);
      return { ok: false, module: path, error: message.slice(0, 300) };
    }
    summaries.set(path, summarize(program));
  }
  for (const [path, summary] of summaries) {
    for (const specifier of summary.specifiers) {
      const target = resolveSpecifier(path, specifier);
      if ("error" in target) return { ok: false, module: path, error: target.error };
      if ("path" in target && !summaries.has(target.path))
        return {
          ok: false,
          module: path,
          error: `imports "${specifier}", but ${target.path} is not a module in the package`,
        };
    }
  }
  // Follow `export { default } from` to the module that declares it (a cycle declares nothing).
  const seen = new Set<string>();
  for (let at = entry; ;) {
    const summary = summaries.get(at);
    if (!summary) return { ok: false, module: entry, error: "is not a module in the package" };
    if (summary.hasDefault) return { ok: true };
    if (summary.defaultFrom === null || seen.has(at)) break;
    seen.add(at);
    const next = resolveSpecifier(at, summary.defaultFrom);
    if ("builtin" in next) return { ok: true };
    if ("error" in next) break;
    at = next.path;
  }
  return {
    ok: false,
    module: entry,
    error:
      "has no default export: the entry module must export default the plugin's handler (an object with fetch, or a WorkerEntrypoint class)",
  };
}
