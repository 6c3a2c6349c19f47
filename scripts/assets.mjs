// Copies vendored browser files the Worker serves from node_modules into .generated/ (git-ignored),
// where the Worker imports them as text modules (wrangler's default rule for *.txt): the API
// reference UI (Scalar's standalone bundle), so /docs works offline. Serving it from the Worker
// rather than through [assets] keeps the asset router off every API request (measured locally:
// assets-first routing cost ~30% of a bare route's throughput).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export function prepareAssets() {
  const source = join(
    root,
    "node_modules",
    "@scalar",
    "api-reference",
    "dist",
    "browser",
    "standalone.js",
  );
  const target = join(root, ".generated", "scalar-standalone.txt");
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(source, target);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepareAssets();
