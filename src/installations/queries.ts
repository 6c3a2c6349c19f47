/** Data access for plugins, versions and installations. */
import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import { installations, pluginVersions, plugins, type InstallationRow, type PluginRow, type PluginVersionRow } from "../platform/db/schema";
import { decryptString } from "../platform/crypto/aead";
import { effectiveLimits, type Manifest } from "../contract/manifest";
import type { PluginSpec } from "../runtime/spec";

export async function findPluginByName(db: Db, name: string): Promise<PluginRow | null> {
  const [row] = await db.select().from(plugins).where(eq(plugins.name, name)).limit(1);
  return row ?? null;
}

export async function listVersions(db: Db, pluginId: string): Promise<PluginVersionRow[]> {
  return db.select().from(pluginVersions).where(eq(pluginVersions.pluginId, pluginId)).orderBy(desc(pluginVersions.createdAt)).limit(500);
}

export async function findVersion(db: Db, pluginId: string, version: string): Promise<PluginVersionRow | null> {
  const [row] = await db.select().from(pluginVersions).where(and(eq(pluginVersions.pluginId, pluginId), eq(pluginVersions.version, version))).limit(1);
  return row ?? null;
}

export async function getInstallation(db: Db, id: string): Promise<InstallationRow | null> {
  const [row] = await db.select().from(installations).where(eq(installations.id, id)).limit(1);
  return row ?? null;
}

export async function findActiveInstallation(db: Db, orgId: string, pluginId: string, environment: InstallationRow["environment"]): Promise<InstallationRow | null> {
  const [row] = await db
    .select()
    .from(installations)
    .where(and(eq(installations.orgId, orgId), eq(installations.pluginId, pluginId), eq(installations.environment, environment), eq(installations.status, "active")))
    .limit(1);
  return row ?? null;
}

export async function listInstallations(db: Db, orgId: string) {
  return db
    .select({ installation: installations, plugin: plugins.name, version: pluginVersions.version, manifest: pluginVersions.manifest })
    .from(installations)
    .innerJoin(plugins, eq(plugins.id, installations.pluginId))
    .innerJoin(pluginVersions, eq(pluginVersions.id, installations.versionId))
    .where(and(eq(installations.orgId, orgId), eq(installations.status, "active")))
    .orderBy(desc(installations.createdAt))
    .limit(500);
}

/** Builds the runtime spec of an active installation (secrets decrypted), or null. */
export async function loadSpec(db: Db, secretKey: string, installationId: string): Promise<PluginSpec | null> {
  const [row] = await db
    .select({ installation: installations, plugin: plugins.name, version: pluginVersions })
    .from(installations)
    .innerJoin(plugins, eq(plugins.id, installations.pluginId))
    .innerJoin(pluginVersions, eq(pluginVersions.id, installations.versionId))
    .where(and(eq(installations.id, installationId), eq(installations.status, "active")))
    .limit(1);
  if (!row) return null;
  const manifest = JSON.parse(row.version.manifest) as Manifest;
  const sealed: SealedValues = row.installation.secretsEnc
    ? (JSON.parse(await decryptString(secretKey, row.installation.secretsEnc, `installation:${installationId}`)) as SealedValues)
    : { secrets: {}, config: {} };
  return specFrom(row.installation, row.plugin, row.version, manifest, sealed);
}

/** What an installation keeps encrypted: `secrets:<NAME>` values and writeOnly config settings. */
export interface SealedValues {
  secrets: Record<string, string>;
  config: Record<string, unknown>;
}

export function specFrom(inst: InstallationRow, plugin: string, version: PluginVersionRow, manifest: Manifest, sealed: SealedValues): PluginSpec {
  return {
    installationId: inst.id,
    orgId: inst.orgId,
    environment: inst.environment,
    plugin,
    pluginId: inst.pluginId,
    paid: manifest.pricing.model !== "free",
    version: version.version,
    sha256: version.sha256,
    entry: manifest.entry,
    grants: JSON.parse(inst.grants) as string[],
    config: { ...(JSON.parse(inst.config) as Record<string, unknown>), ...sealed.config },
    secrets: sealed.secrets,
    limits: effectiveLimits(manifest),
    requestsPerMinute: manifest.limits.requestsPerMinute ?? null,
    revision: inst.updatedAt,
  };
}

/** The active installation of app `app` (short name) in an organization's environment. */
export async function findAppInstallation(db: Db, orgSlug: string, environment: string, app: string): Promise<string | null> {
  const [row] = await db.all<{ id: string }>(sql`
    SELECT i.id FROM installations i
    JOIN organizations o ON o.id = i.org_id
    JOIN plugins p ON p.id = i.plugin_id
    WHERE o.slug = ${orgSlug} AND i.environment = ${environment} AND i.status = 'active' AND p.kind = 'app'
      AND substr(p.name, instr(p.name, '/') + 1) = ${app}
    LIMIT 1`);
  return row?.id ?? null;
}
