/** Data access for installations (plugins and versions: catalog/queries.ts; runtime specs: runtime/resolve.ts). */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import {
  installations,
  pluginVersions,
  plugins,
  type InstallationRow,
} from "../platform/db/schema";

export async function getInstallation(db: Db, id: string): Promise<InstallationRow | null> {
  const [row] = await db.select().from(installations).where(eq(installations.id, id)).limit(1);
  return row ?? null;
}

export async function findActiveInstallation(
  db: Db,
  orgId: string,
  pluginId: string,
  environment: InstallationRow["environment"],
): Promise<InstallationRow | null> {
  const [row] = await db
    .select()
    .from(installations)
    .where(
      and(
        eq(installations.orgId, orgId),
        eq(installations.pluginId, pluginId),
        eq(installations.environment, environment),
        eq(installations.status, "active"),
      ),
    )
    .limit(1);
  return row ?? null;
}

export async function listInstallations(db: Db, orgId: string) {
  return db
    .select({
      installation: installations,
      plugin: plugins.name,
      version: pluginVersions.version,
      manifest: pluginVersions.manifest,
    })
    .from(installations)
    .innerJoin(plugins, eq(plugins.id, installations.pluginId))
    .innerJoin(pluginVersions, eq(pluginVersions.id, installations.versionId))
    .where(and(eq(installations.orgId, orgId), eq(installations.status, "active")))
    .orderBy(desc(installations.createdAt))
    .limit(500);
}
