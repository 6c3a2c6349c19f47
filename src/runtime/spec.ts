/** What a plugin host needs to run one installation (built from D1, cached per isolate). */
import type { Environment } from "../platform/db/schema";
import type { ManifestRoute } from "../contract/manifest";
import type { StoredProvenance } from "../contract/provenance";

export interface PluginSpec {
  installationId: string;
  orgId: string;
  environment: Environment;
  plugin: string;
  /** The listing's id (usage metering and billing key on it). */
  pluginId: string;
  /** The listing is paid: calls need the organization's purchase or subscription. */
  paid: boolean;
  version: string;
  /** SHA-256 of the package: the code. */
  sha256: string;
  /**
   * A signed version's provenance (its DSSE envelope and the publisher key that verified it at
   * publish): the host that loads the bytes runs them only if this signature verifies and signs
   * exactly their SHA-256.
   */
  provenance?: StoredProvenance;
  /** The version was published signed: it never loads without a provenance that verifies. */
  signed?: true;
  entry: string;
  grants: string[];
  config: Record<string, unknown>;
  /** Granted secrets only, decrypted. Never logged, never returned. */
  secrets: Record<string, string>;
  /** The names of `config` settings that are write-only (secret): redacted from logs like secrets. */
  sealedConfig?: string[];
  limits: { cpuMs: number; subrequests: number };
  requestsPerMinute: number | null;
  /** The HTTP routes the gateway lets through (the manifest's; undefined: every path). */
  routes?: ManifestRoute[];
  /** Changes whenever the installation changes (config, version), so a new isolate is used. */
  revision: number;
  /**
   * Why the platform will not run this version (the kill switch): `revoked` (the version was
   * revoked) or `stopped` (its listing is suspended with mode "stop"). Calls answer 503.
   */
  halted?: "revoked" | "stopped";
  /** When the spec was read from D1 (ms): older than the installation's invalidation, it is reloaded. */
  loadedAt?: number;
}

/** The origin of every URL a plugin receives (fixed: callers choose only the path and query). */
export const PLUGIN_ORIGIN = "https://plugin.atoll.internal";

/** Compatibility date plugin isolates run with (bounded by the bundled workerd). */
export const PLUGIN_COMPATIBILITY_DATE = "2026-11-01";

/**
 * The isolate id: the package's SHA-256 (one id always means one code) plus the installation and
 * its revision (its bindings: grants, config, secrets). A new version never shares an isolate.
 */
export function isolateId(
  spec: Pick<PluginSpec, "sha256" | "installationId" | "revision">,
): string {
  return `${spec.sha256}:${spec.installationId}:${spec.revision}`;
}

/** Most bytes of response headers a plugin may answer with (names and values). */
export const MAX_PLUGIN_HEADER_BYTES = 32 * 1024;

/** The bytes of a header list, as the cap counts them. */
export function headerBytes(headers: Headers): number {
  let n = 0;
  for (const [name, value] of headers) n += name.length + value.length + 4;
  return n;
}

/** A plugin answered with more header bytes than MAX_PLUGIN_HEADER_BYTES. */
export class PluginHeadersTooLargeError extends Error {}
