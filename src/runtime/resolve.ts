/**
 * Resolving a call to what runs: an installation's runtime spec (secrets decrypted, memory only)
 * and an app endpoint's installation, each cached per isolate so that the plugin call's warm path
 * reads no D1. A change made in this isolate (install, configure, upgrade, uninstall) forgets
 * what it affects at once; other isolates see it within the TTL (10 s for specs, 60 s for apps).
 */
import { and, eq, sql } from "drizzle-orm";
import { effectiveLimits, type Manifest } from "../contract/manifest";
import { TtlCache, perBinding } from "../platform/cache";
import { decryptString } from "../platform/crypto/aead";
import { getDb, type Db } from "../platform/db/client";
import {
  installations,
  pluginVersions,
  plugins,
  type InstallationRow,
  type PluginVersionRow,
} from "../platform/db/schema";
import type { PluginSpec } from "./spec";
import type { StoredProvenance } from "../contract/provenance";

const specCache = (env: Env) =>
  perBinding(env.DB, "specs", () => new TtlCache<PluginSpec>(10_000, 5_000));
const appCache = (env: Env) => perBinding(env.DB, "apps", () => new TtlCache<string>(60_000));

/** The spec of an active installation, cached. */
export async function installationSpec(
  env: Env,
  installationId: string,
): Promise<PluginSpec | null> {
  const cache = specCache(env);
  const hit = cache.get(installationId);
  if (hit) return hit;
  const spec = await loadSpec(getDb(env.DB), env.ATOLL_SECRET_KEY, installationId);
  if (spec) cache.set(installationId, spec);
  return spec;
}

/** Forgets an installation's cached spec (it was configured, upgraded or removed here). */
export function forgetInstallation(env: Env, installationId: string): void {
  specCache(env).deleteWhere((_v, k) => k === installationId);
}

/** The installation serving `/apps/{org}/{environment}/{app}`, cached (a miss is not cached). */
export async function appInstallation(
  env: Env,
  orgSlug: string,
  environment: string,
  app: string,
): Promise<string | null> {
  const cache = appCache(env);
  const key = `${orgSlug}/${environment}/${app}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const id = await findAppInstallation(getDb(env.DB), orgSlug, environment, app);
  if (id) cache.set(key, id);
  return id;
}

/** Forgets app endpoint → installation mappings (an app was installed or removed here). */
export function forgetApps(env: Env): void {
  appCache(env).clear();
}

/** Builds the runtime spec of an active installation (secrets decrypted), or null. */
export async function loadSpec(
  db: Db,
  secretKey: string,
  installationId: string,
): Promise<PluginSpec | null> {
  const loadedAt = Date.now();
  const [row] = await db
    .select({
      installation: installations,
      plugin: plugins.name,
      stopped: sql<number>`(${plugins.suspendedAt} IS NOT NULL AND ${plugins.suspensionMode} = 'stop')`,
      version: pluginVersions,
    })
    .from(installations)
    .innerJoin(plugins, eq(plugins.id, installations.pluginId))
    .innerJoin(pluginVersions, eq(pluginVersions.id, installations.versionId))
    .where(and(eq(installations.id, installationId), eq(installations.status, "active")))
    .limit(1);
  if (!row) return null;
  const manifest = row.version.manifest;
  const sealed: SealedValues = row.installation.secretsEnc
    ? (JSON.parse(
        await decryptString(
          secretKey,
          row.installation.secretsEnc,
          `installation:${installationId}`,
        ),
      ) as SealedValues)
    : { secrets: {}, config: {} };
  const spec = specFrom(row.installation, row.plugin, row.version, manifest, sealed);
  if (!spec.halted && row.stopped) spec.halted = "stopped";
  return { ...spec, loadedAt };
}

/** What an installation keeps encrypted: `secrets:<NAME>` values and writeOnly config settings. */
export interface SealedValues {
  secrets: Record<string, string>;
  config: Record<string, unknown>;
}

export function specFrom(
  inst: InstallationRow,
  plugin: string,
  version: PluginVersionRow,
  manifest: Manifest,
  sealed: SealedValues,
): PluginSpec {
  return {
    installationId: inst.id,
    orgId: inst.orgId,
    environment: inst.environment,
    plugin,
    pluginId: inst.pluginId,
    paid: manifest.pricing.model !== "free",
    version: version.version,
    sha256: version.sha256,
    ...(version.provenance ? { provenance: storedProvenance(version.provenance) } : {}),
    ...(version.signerKeyId ? { signed: true as const } : {}),
    entry: manifest.entry,
    grants: inst.grants,
    config: { ...inst.config, ...sealed.config },
    secrets: sealed.secrets,
    sealedConfig: Object.keys(sealed.config),
    limits: effectiveLimits(manifest),
    requestsPerMinute: manifest.limits.requestsPerMinute ?? null,
    ...(manifest.routes ? { routes: manifest.routes } : {}),
    revision: inst.updatedAt,
    ...(version.status === "revoked" ? { halted: "revoked" as const } : {}),
  };
}

/**
 * A version's stored provenance. A record that cannot be read still makes the version a signed
 * one: the host then finds no valid signature and refuses to run it.
 */
function storedProvenance(text: string): StoredProvenance {
  try {
    const v = JSON.parse(text) as { envelope?: unknown; publicKey?: unknown };
    return {
      envelope: v.envelope ?? null,
      publicKey: typeof v.publicKey === "string" ? v.publicKey : "",
    };
  } catch {
    return { envelope: null, publicKey: "" };
  }
}

/** The active installation of app `app` (short name) in an organization's environment. */
export async function findAppInstallation(
  db: Db,
  orgSlug: string,
  environment: string,
  app: string,
): Promise<string | null> {
  const [row] = await db.all<{ id: string }>(sql`
    SELECT i.id FROM installations i
    JOIN organizations o ON o.id = i.org_id
    JOIN plugins p ON p.id = i.plugin_id
    WHERE o.slug = ${orgSlug} AND i.environment = ${environment} AND i.status = 'active' AND p.kind = 'app'
      AND substr(p.name, instr(p.name, '/') + 1) = ${app}
    LIMIT 1`);
  return row?.id ?? null;
}
