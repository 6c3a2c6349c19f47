#!/usr/bin/env node
// The `atoll` CLI. Its source is TypeScript (src/cli/); this launcher bundles it with esbuild on
// first use (and whenever the source changed) into .generated/cli.mjs, then runs it.
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outFile = join(root, ".generated", "cli.mjs");
const newest = (dir) => Math.max(...readdirSync(dir, { recursive: true }).map((f) => statSync(join(dir, String(f))).mtimeMs));
const sources = [join(root, "src", "cli"), join(root, "src", "plugins")];
if (!existsSync(outFile) || sources.some((d) => newest(d) > statSync(outFile).mtimeMs)) {
  mkdirSync(dirname(outFile), { recursive: true });
  await build({
    entryPoints: [join(root, "src", "cli", "main.ts")],
    outfile: outFile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "error",
  });
}
const { main } = await import(pathToFileURL(outFile).href);
process.exitCode = await main(process.argv.slice(2));
