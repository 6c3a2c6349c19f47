/**
 * The tags of an installation's user Worker in the dispatch namespace (Workers for Platforms):
 * what lets the platform find, filter and delete scripts by installation, organization, plugin,
 * environment or package, and what tells the tail consumer whose trace it receives. Pure.
 *
 * Cloudflare allows eight tags per script and warns against special characters (`,` and `&`);
 * its tag filters use `tag:yes`/`tag:no` joined by commas, and single-tag paths put the tag in a
 * URL segment, so `:`, `@`, `/` and `,` would clash. Every tag here is `key-value` in the safe
 * alphabet TAG_PATTERN (lower-case letters, digits, `-` and `_`, at most 64 characters). Ids are
 * case-sensitive base62, so they are written reversibly in lower case: `_` becomes `__` and an
 * upper-case letter `X` becomes `_x` (`ins_AbC1` → `ins__ab_c1`), which also survives a
 * case-folding store.
 */
import type { PluginSpec } from "./spec";

/** The safe tag alphabet; the Cloudflare API stand-in refuses anything else. */
export const TAG_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** Cloudflare's limit on tags per script. */
export const MAX_TAGS = 8;
/** The tag every user Worker of the platform carries. */
export const PLATFORM_TAG = "atoll";

const ID = /^[A-Za-z0-9_]{1,40}$/;

/** Writes an id (letters, digits, `_`) in the tag alphabet, reversibly. */
export function encodeTagId(id: string): string {
  if (!ID.test(id))
    throw new Error(`an id for a tag is letters, digits and _ (got ${id.length} characters)`);
  return id.replace(/[A-Z_]/g, (c) => (c === "_" ? "__" : `_${c.toLowerCase()}`));
}

/** The id encodeTagId wrote, or null when `value` is not one of its outputs. */
export function decodeTagId(value: string): string | null {
  if (!/^(?:[a-z0-9]|__|_[a-z])+$/.test(value)) return null;
  return value.replace(/_(_|[a-z])/g, (_, c: string) => (c === "_" ? "_" : c.toUpperCase()));
}

const INSTALLATION = "installation-";

/** The tags of an installation's user Worker. */
export function scriptTags(
  spec: Pick<PluginSpec, "installationId" | "orgId" | "pluginId" | "environment" | "sha256">,
): string[] {
  return [
    PLATFORM_TAG,
    `${INSTALLATION}${encodeTagId(spec.installationId)}`,
    `org-${encodeTagId(spec.orgId)}`,
    `plugin-${encodeTagId(spec.pluginId)}`,
    `env-${spec.environment}`,
    // The package's code (its SHA-256's first 160 bits): every script running it, for a takedown.
    `package-${spec.sha256.slice(0, 40).toLowerCase()}`,
  ];
}

/** The tag filter naming one installation's scripts (`?tags=<tag>:yes`). */
export const installationTag = (installationId: string): string =>
  `${INSTALLATION}${encodeTagId(installationId)}`;

/** The installation a script's tags name: exactly one installation tag, well formed, or null. */
export function installationOfTags(tags: readonly string[]): string | null {
  const named = tags.filter((t) => t.startsWith(INSTALLATION));
  if (named.length !== 1) return null;
  const id = decodeTagId((named[0] as string).slice(INSTALLATION.length));
  return id && id.startsWith("ins_") ? id : null;
}
