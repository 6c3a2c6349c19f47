#!/usr/bin/env node
/**
 * Builds @atoll/sdk for installation anywhere: dist/index.js (ES module; the plugin contract it
 * imports is bundled in, itty-router stays a dependency) and dist/index.d.ts + dist/protocol.d.ts.
 * The output depends only on the source: the same source builds the same bytes.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const contract = join(root, "..", "..", "src", "contract", "protocol.ts");

export async function buildSdk() {
  // The compiler resolves `types` (the Workers globals the SDK's declarations use) from here.
  const cwd = process.cwd();
  process.chdir(root);
  try {
    return await emit();
  } finally {
    process.chdir(cwd);
  }
}

async function emit() {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  await build({
    entryPoints: [join(root, "src", "index.ts")],
    outfile: join(dist, "index.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["itty-router"],
    legalComments: "none",
    logLevel: "error",
  });
  // Declarations: index.d.ts imports the contract's types from ./protocol.d.ts beside it.
  const emitted = new Map();
  const program = ts.createProgram([join(root, "src", "index.ts")], {
    declaration: true,
    emitDeclarationOnly: true,
    strict: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: ["@cloudflare/workers-types"],
  });
  const result = program.emit(undefined, (file, text) => emitted.set(file, text));
  const errors = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  if (errors.length)
    throw new Error(
      ts.formatDiagnostics(errors, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => "\n",
      }),
    );
  const find = (suffix) => [...emitted].find(([file]) => file.endsWith(suffix))?.[1];
  const index = find("packages/sdk/src/index.d.ts");
  const protocol = find("src/contract/protocol.d.ts");
  if (!index || !protocol)
    throw new Error(`declarations missing: ${[...emitted.keys()].join(", ")}`);
  writeFileSync(
    join(dist, "index.d.ts"),
    index.replaceAll("../../../src/contract/protocol", "./protocol.js"),
  );
  writeFileSync(join(dist, "protocol.d.ts"), protocol);
  return { dist, contract };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildSdk();
  console.log(`@atoll/sdk built: ${readFileSync(join(dist, "index.js")).length} bytes`);
}
