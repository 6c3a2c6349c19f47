#!/usr/bin/env node
/**
 * Builds the packages a plugin developer installs — @atoll/sdk (dist/: JavaScript + declarations)
 * and the atoll CLI (dist/cli.mjs) — from their source in packages/. Runs after `npm install`
 * (`prepare`), before the tests and `npm start`; `npm pack` in each package folder makes the
 * tarballs.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = join(import.meta.dirname, "..");

export async function buildPackages() {
  const sdk = await import(pathToFileURL(join(root, "packages/sdk/scripts/build.mjs")).href);
  const cli = await import(pathToFileURL(join(root, "packages/cli/scripts/build.mjs")).href);
  await sdk.buildSdk();
  await cli.buildCli();
}

if (process.argv[1] === import.meta.filename) {
  await buildPackages();
  console.log("built @atoll/sdk (packages/sdk/dist) and the atoll CLI (packages/cli/dist)");
}
