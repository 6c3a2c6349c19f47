#!/usr/bin/env node
// The `atoll` CLI: runs dist/cli.mjs (built by scripts/build.mjs; shipped in the package). Inside
// the Atoll repository, where its TypeScript source sits beside it, it is rebuilt first whenever
// the source (or the plugin contract it bundles) is newer.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outFile = join(root, "dist", "cli.mjs");
const sources = [join(root, "src"), join(root, "..", "..", "src", "contract")];
if (existsSync(join(root, "scripts", "build.mjs")) && sources.every((d) => existsSync(d))) {
  const newest = (dir) =>
    Math.max(
      ...readdirSync(dir, { recursive: true }).map((f) => statSync(join(dir, String(f))).mtimeMs),
    );
  if (!existsSync(outFile) || sources.some((d) => newest(d) > statSync(outFile).mtimeMs)) {
    const { buildCli } = await import(pathToFileURL(join(root, "scripts", "build.mjs")).href);
    await buildCli();
  }
}
const { main } = await import(pathToFileURL(outFile).href);
process.exitCode = await main(process.argv.slice(2));
