/**
 * `atoll build`: bundle a plugin with esbuild, validate its manifest with the platform's own
 * schema, and write `dist/<name>-<version>.zip` (manifest.json + the bundled entry module).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { strToU8, zipSync } from "fflate";
import { splitName, validateManifest, type Manifest } from "../../../src/contract/manifest";
import { createRequire } from "node:module";

/** `@atoll/sdk` as this CLI resolves it (its own dependency), so a plugin anywhere bundles the SDK the CLI was built with. */
export const SDK_ENTRY = createRequire(import.meta.url).resolve("@atoll/sdk");

export class CliError extends Error {}

export interface BuildResult {
  manifest: Manifest;
  zipPath: string;
  bytes: Uint8Array;
  sha256: string;
}

export function readManifest(dir: string): Manifest {
  const path = join(dir, "manifest.json");
  if (!existsSync(path))
    throw new CliError(
      `${path} not found: is ${dir} a plugin folder? (atoll init <dir> makes one)`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  const r = validateManifest(raw);
  if (!r.ok)
    throw new CliError(
      `manifest.json is invalid:\n${r.errors.map((e) => `  - ${e.path}: ${e.message}`).join("\n")}`,
    );
  return r.manifest;
}

/** A plugin's atoll.dev.json (git-ignored): the config and secrets it is installed with in development. */
export interface DevFile {
  config?: Record<string, unknown>;
  secrets?: Record<string, string>;
}

export function readDevFile(dir: string): DevFile {
  const path = join(dir, "atoll.dev.json");
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8")) as DevFile;
  } catch (err) {
    throw new CliError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function sourceEntry(dir: string): string {
  for (const candidate of ["src/index.ts", "src/index.js", "index.ts"]) {
    if (existsSync(join(dir, candidate))) return join(dir, candidate);
  }
  throw new CliError(`no source entry in ${dir} (expected src/index.ts)`);
}

/** Builds with an optional version override (used by `atoll dev`). */
export async function buildPlugin(
  dir: string,
  opts: { version?: string; log?: (line: string) => void } = {},
): Promise<BuildResult> {
  const log = opts.log ?? (() => undefined);
  const manifest = readManifest(dir);
  if (opts.version) manifest.version = opts.version;
  const entry = sourceEntry(dir);
  log(`bundling ${entry}`);
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    alias: { "@atoll/sdk": SDK_ENTRY },
    external: ["cloudflare:*"],
    write: false,
    logLevel: "silent",
    legalComments: "none",
  }).catch(
    (err: { errors?: { text: string; location?: { file: string; line: number } | null }[] }) => {
      const detail = (err.errors ?? [])
        .map((e) => `  - ${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}`)
        .join("\n");
      throw new CliError(`bundling failed:\n${detail || String(err)}`);
    },
  );
  const code = out.outputFiles[0]?.contents;
  if (!code) throw new CliError("bundling produced no output");
  const rawManifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Record<
    string,
    unknown
  >;
  if (opts.version) rawManifest.version = opts.version;
  const bytes = zipSync(
    { "manifest.json": strToU8(JSON.stringify(rawManifest, null, 2)), [manifest.entry]: code },
    // A fixed time stamp (local midnight, 1 Jan 2000, the same DOS fields in every time zone):
    // the same source builds the same bytes, so a package's SHA-256 identifies its source.
    { level: 9, mtime: new Date(2000, 0, 1) },
  );
  const short = splitName(manifest.name)?.short ?? basename(dir);
  const distDir = join(dir, "dist");
  mkdirSync(distDir, { recursive: true });
  const zipPath = join(distDir, `${short}-${manifest.version}.zip`);
  writeFileSync(zipPath, bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return { manifest, zipPath, bytes, sha256 };
}
