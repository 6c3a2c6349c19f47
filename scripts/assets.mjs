// Copies the static files the Worker serves from node_modules into public/ (git-ignored):
// the API reference UI (Scalar's standalone bundle), so /docs works offline.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export function prepareAssets() {
  const pkg = join(root, "node_modules", "@scalar", "api-reference");
  const target = join(root, "public", "vendor", "scalar", "standalone.js");
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(pkg, "dist", "browser", "standalone.js"), target);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) prepareAssets();
