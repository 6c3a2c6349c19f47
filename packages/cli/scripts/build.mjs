#!/usr/bin/env node
/**
 * Builds the atoll CLI for installation anywhere: dist/cli.mjs (and dist/testing.mjs, the
 * `@atoll/cli/testing` entry for plugins' own tests), ES modules with the plugin
 * contract (and what it uses) bundled in; its npm dependencies (esbuild, fflate, semver,
 * @atoll/sdk) stay dependencies. The same source builds the same bytes.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI_OUT = join(root, "dist", "cli.mjs");
/** The standalone dev server's Worker (workers/dev-host), served by `atoll dev` on workerd. */
export const DEV_HOST_OUT = join(root, "dist", "dev-host.mjs");

/** The package's dependencies and peer dependencies (wrangler, for the standalone dev server). */
function external() {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
}

export async function buildCli() {
  mkdirSync(dirname(CLI_OUT), { recursive: true });
  await build({
    entryPoints: { cli: join(root, "src", "main.ts"), testing: join(root, "src", "testing.ts") },
    outdir: dirname(CLI_OUT),
    outExtension: { ".js": ".mjs" },
    // One file per entry: the dev server's code is in both (a shared chunk would need splitting).
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // The package's own dependencies are installed with it; what the plugin contract needs
    // (zod, the manifest's validators) is bundled in, so nothing outside the package is read.
    external: external(),
    legalComments: "none",
    logLevel: "error",
  });
  await build({
    entryPoints: [join(root, "..", "..", "workers", "dev-host", "src", "index.ts")],
    outfile: DEV_HOST_OUT,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    legalComments: "none",
    logLevel: "error",
  });
  return CLI_OUT;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildCli();
  console.log(`atoll CLI built: ${CLI_OUT}`);
}
