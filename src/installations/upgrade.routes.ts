/**
 * Changing an installation: upgrade or downgrade to another published version (re-granting when
 * the permissions change), reconfigure, and the installation's history. The new revision is
 * prepared and initialized before anything is stored; a failure leaves the installation as it was.
 */
import { createRoute, z } from "@hono/zod-openapi";
import semver from "semver";
import { and, asc, eq } from "drizzle-orm";
import { actorOf, auditInsertIfPreviousChanged } from "../access/audit";
import { insertIfPreviousChanged } from "../platform/db/guard";
import { requireScope } from "../access/principal";
import { createRouter } from "../platform/http/router";
import { decryptString, encryptString } from "../platform/crypto/aead";
import { getDb } from "../platform/db/client";
import { installationEvents, installations } from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { ApiError, badRequest, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, problems, problemWith, iso } from "../platform/http/schemas";
import { compareGrants, describePermission } from "../contract/permissions";
import { callLifecycle, pluginDeadline, pluginHost } from "../runtime/invoke";
import { checkSecrets, validateConfig } from "./config";
import {
  findPluginOwner,
  findVersion,
  revokedSignerProblem,
  versionVisibleTo,
} from "../catalog/queries";
import { dispatchEvent, eventRecord } from "../events/emit";
import { installationPayload } from "../events/topics";
import { forgetInstallation, specFrom, type SealedValues } from "../runtime/resolve";
import { getOrganization } from "../access/queries";
import {
  Installation,
  callerOf,
  describeBody,
  ownedInstallation,
  prepareHost,
  refuseOversizedBindings,
  toInstallation,
} from "./installations.routes";

export const upgradeRoutes = createRouter();

const Params = z.object({ installationId: IdParam("installationId", "ins") });

const change = createRoute({
  method: "patch",
  path: "/{installationId}",
  tags: ["Installations"],
  summary:
    "Upgrade or downgrade to another published version, and/or change config, secrets and grants",
  description:
    "When the target version declares other permissions than the current grants, `grants` must list exactly the new ones (re-grant). Config is validated against the target version's schema; omitted config and secrets are kept.",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: Params,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              version: z.string().max(64).optional(),
              grants: z.array(z.string().max(300)).max(50).optional(),
              config: z.record(z.string(), z.unknown()).optional(),
              secrets: z.record(z.string(), z.string().max(4096)).optional(),
            })
            .strict()
            .openapi("ChangeInstallation", { example: { version: "1.1.0" } }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The installation",
      content: { "application/json": { schema: Installation } },
    },
    ...problems(400, 401, 403, 404, 409, 413, 415, 429),
    502: problemWith("The new version's initialize failed"),
    504: problemWith("The new version's initialize exceeded its limits or timed out"),
  },
});

upgradeRoutes.openapi(change, async (c) => {
  const p = requireScope(c, "installations:write");
  const { installationId } = c.req.valid("param");
  const body = c.req.valid("json");
  const { row, spec: current } = await ownedInstallation(c, p, installationId);
  const db = getDb(c.env.DB);
  const targetVersion = body.version ?? current.version;
  const target = await findVersion(db, row.pluginId, targetVersion);
  const plugin = { orgId: (await findPluginOwner(db, row.pluginId)) ?? "" };
  // Staying on a yanked version (which keeps serving its installations) is a reconfiguration.
  const staying = target?.id === row.versionId && target.status === "yanked";
  if (!target || (!staying && !versionVisibleTo(target, plugin, p.orgId, p.role === "operator")))
    throw notFound(`${current.plugin}@${targetVersion} (published)`);
  if (target.id !== row.versionId) {
    const keyRevoked = await revokedSignerProblem(db, current.plugin, target);
    if (keyRevoked) throw keyRevoked;
  }
  const manifest = target.manifest;

  const currentGrants = row.grants;
  const grants = body.grants ?? currentGrants;
  const { missing, undeclared } = compareGrants(manifest.permissions, grants);
  if (missing.length > 0 || undeclared.length > 0) {
    throw badRequest(
      missing.length > 0
        ? `${targetVersion} needs these permissions granted: ${missing.map((m) => `${m} (${describePermission(m)})`).join(", ")}.`
        : `Grants not declared by ${targetVersion}: ${undeclared.join(", ")}.`,
      "grants-mismatch",
      {
        errors: [
          ...missing.map((m) => ({ path: "grants", message: `missing ${m}` })),
          ...undeclared.map((u) => ({ path: "grants", message: `${u} is not declared` })),
        ],
      },
    );
  }
  const sealedBefore: SealedValues = row.secretsEnc
    ? (JSON.parse(
        await decryptString(c.env.ATOLL_SECRET_KEY, row.secretsEnc, `installation:${row.id}`),
      ) as SealedValues)
    : { secrets: {}, config: {} };
  const config = validateConfig(
    manifest.config,
    body.config ?? { ...row.config, ...sealedBefore.config },
  );
  if (!config.ok)
    throw badRequest(
      `The configuration is invalid for ${targetVersion}: ${config.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      "validation-failed",
      { errors: config.errors },
    );
  const granted = new Set(grants.filter((g) => g.startsWith("secrets:")).map((g) => g.slice(8)));
  const secrets = Object.fromEntries(
    Object.entries({ ...sealedBefore.secrets, ...(body.secrets ?? {}) }).filter(([k]) =>
      granted.has(k),
    ),
  );
  const secretErrors = checkSecrets(grants, secrets);
  if (secretErrors.length > 0)
    throw badRequest(
      `The secrets do not match the grants: ${secretErrors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      "validation-failed",
      { errors: secretErrors },
    );

  const now = Math.max(Date.now(), row.updatedAt + 1);
  const sealed: SealedValues = { secrets, config: config.sealedConfig };
  const hasSealed = Object.keys(secrets).length > 0 || Object.keys(config.sealedConfig).length > 0;
  const next = {
    ...row,
    versionId: target.id,
    grants,
    config: config.plain,
    secretsEnc: hasSealed
      ? await encryptString(
          c.env.ATOLL_SECRET_KEY,
          JSON.stringify(sealed),
          `installation:${row.id}`,
        )
      : null,
    updatedAt: now,
  };
  const spec = specFrom(next, current.plugin, target, manifest, sealed);
  refuseOversizedBindings(spec);
  const host = pluginHost(c);
  await prepareHost(host, spec);
  const init = await callLifecycle(
    host,
    spec,
    callerOf(c, p, row.orgId),
    "initialize",
    {
      installationId: row.id,
      config: spec.config,
      environment: spec.environment,
      previousVersion: current.version,
    },
    pluginDeadline(c.env),
  );
  if (init.implemented && (init.status < 200 || init.status >= 300)) {
    await host.retire?.(spec).catch(() => undefined);
    throw new ApiError({
      status: 502,
      type: "plugin-initialize-failed",
      title: "Plugin initialize failed",
      detail: `${current.plugin}@${targetVersion} answered ${init.status}${describeBody(init.body)}; the installation is unchanged.`,
    });
  }
  const action =
    target.version === current.version
      ? "reconfigured"
      : semver.gt(target.version, current.version)
        ? "upgraded"
        : "downgraded";
  const updatedEvent = eventRecord(
    db,
    {
      topic: "installation.updated",
      orgIds: [row.orgId, plugin.orgId || row.orgId],
      environment: row.environment,
      payload: {
        ...installationPayload({
          id: row.id,
          orgId: row.orgId,
          plugin: current.plugin,
          version: target.version,
          environment: row.environment,
        }),
        change: action,
        previousVersion: current.version,
      },
    },
    { guarded: true, now },
  );
  // Guarded on the revision read above: a concurrent change makes this one a no-op (409).
  const [updated] = await db.batch([
    db
      .update(installations)
      .set({
        versionId: next.versionId,
        grants: next.grants,
        config: next.config,
        secretsEnc: next.secretsEnc,
        updatedAt: now,
      })
      .where(
        and(
          eq(installations.id, row.id),
          eq(installations.updatedAt, row.updatedAt),
          eq(installations.status, "active"),
        ),
      )
      .returning({ id: installations.id }),
    // History and audit follow the guarded update in the same batch: a loser writes neither.
    insertIfPreviousChanged(db, installationEvents, {
      installationId: row.id,
      orgId: row.orgId,
      action,
      fromVersion: current.version,
      toVersion: target.version,
      grants: next.grants,
      actor: actorOf(p),
      at: now,
    }),
    auditInsertIfPreviousChanged(
      db,
      {
        orgId: row.orgId,
        actor: actorOf(p),
        action: `installation.${action}`,
        target: row.id,
        details: { from: current.version, to: target.version },
        requestId: c.get("requestId"),
      },
      now,
    ),
    updatedEvent.statement,
  ]);
  if (updated.length === 0) {
    await host.retire?.(spec).catch(() => undefined);
    throw new ApiError({
      status: 409,
      type: "conflict",
      title: "Conflict",
      detail: "The installation changed meanwhile; read it again and retry.",
    });
  }
  forgetInstallation(c.env, row.id);
  await host.retire?.(current).catch(() => undefined);
  await dispatchEvent(c.env, db, updatedEvent.id);
  const slug = (await getOrganization(db, row.orgId))?.slug ?? null;
  return c.json(toInstallation(next, current.plugin, target.version, manifest, slug), 200);
});

const history = createRoute({
  method: "get",
  path: "/{installationId}/history",
  tags: ["Installations"],
  summary: "The installation's history, oldest first (kept after uninstall)",
  security: AUTHENTICATED,
  request: { params: Params },
  responses: {
    200: {
      description: "Events",
      content: {
        "application/json": {
          schema: z
            .object({
              events: z.array(
                z.object({
                  action: z.string(),
                  fromVersion: z.string().nullable(),
                  toVersion: z.string().nullable(),
                  grants: z.array(z.string()).nullable(),
                  actor: z.string(),
                  at: z.string().datetime(),
                }),
              ),
            })
            .openapi("InstallationHistory"),
        },
      },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

upgradeRoutes.openapi(history, async (c) => {
  const p = requireScope(c, "installations:read");
  const { installationId } = c.req.valid("param");
  const db = getDb(c.env.DB);
  const events = await db
    .select()
    .from(installationEvents)
    .where(eq(installationEvents.installationId, installationId))
    .orderBy(asc(installationEvents.id))
    .limit(500);
  if (events.length === 0 || (p.role !== "operator" && events[0]?.orgId !== p.orgId))
    throw notFound("The installation");
  return c.json(
    {
      events: events.map((e) => ({
        action: e.action,
        fromVersion: e.fromVersion,
        toVersion: e.toVersion,
        grants: e.grants ? e.grants : null,
        actor: e.actor,
        at: iso(e.at),
      })),
    },
    200,
  );
});
