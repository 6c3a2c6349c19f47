#!/usr/bin/env node
// The `atoll` CLI. Its source is TypeScript (packages/cli/src, plus the plugin contract it imports);
// this launcher bundles it with esbuild on first use (and whenever the source changed) into
// dist/cli.mjs, then runs it.
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const contract = join(root, "..", "..", "src", "contract");
const outFile = join(root, "dist", "cli.mjs");
const newest = (dir) =>
  Math.max(
    ...readdirSync(dir, { recursive: true }).map((f) => statSync(join(dir, String(f))).mtimeMs),
  );
const sources = [join(root, "src"), contract];
if (!existsSync(outFile) || sources.some((d) => newest(d) > statSync(outFile).mtimeMs)) {
  mkdirSync(dirname(outFile), { recursive: true });
  await build({
    entryPoints: [join(root, "src", "main.ts")],
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
