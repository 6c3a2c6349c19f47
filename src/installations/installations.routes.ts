/** Installing plugins into an organization's environment, executing them, and uninstalling. */
import { PackageIntegrityError } from "../runtime/packages";
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import semver from "semver";
import type { Context } from "hono";
import { actorOf, auditInsert, auditInsertIfPreviousChanged } from "../access/audit";
import { insertIfPreviousChanged } from "../platform/db/guard";
import { requireScope, type Principal } from "../access/principal";
import { createRouter, type AppEnv } from "../platform/http/router";
import { encryptString } from "../platform/crypto/aead";
import { newId } from "../platform/crypto/encoding";
import { getDb, isUniqueViolation } from "../platform/db/client";
import {
  installationEvents,
  installations,
  type Environment,
  type InstallationRow,
} from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { ApiError, badRequest, conflict, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, problems, problemWith, iso } from "../platform/http/schemas";
import type { Manifest } from "../contract/manifest";
import { compareGrants, describePermission } from "../contract/permissions";
import { callLifecycle, pluginDeadline, pluginHost, type Caller } from "../runtime/invoke";
import { tilled, tillOf } from "../revenue/till";
import { HostApiError, type PluginHost } from "../runtime/host";
import { oversizedBindings } from "../runtime/bindings";
import { checkSecrets, redactConfig, validateConfig } from "./config";
import {
  installCountStatement,
  findPluginByName,
  findPluginOwner,
  findVersion,
  revokedSignerProblem,
  isDevVersion,
  listVersions,
  versionVisibleTo,
} from "../catalog/queries";
import {
  findAppInstallation,
  forgetApps,
  forgetInstallation,
  installationSpec,
  specFrom,
  type SealedValues,
} from "../runtime/resolve";
import { findActiveInstallation, getInstallation, listInstallations } from "./queries";
import { getOrganization } from "../access/queries";
import { hasEntitlement, paymentRequired } from "../revenue/entitlements";
import type { PluginSpec } from "../runtime/spec";
import { LOGS_KEPT, LOG_LEVELS, deleteLogsStatement, readLogs } from "../runtime/log-store";
import { dispatchEvent, eventRecord } from "../events/emit";
import { isStale, takeInstallationLease } from "../access/ratelimit/installation";
import { notifyRemovedPlugin } from "../events/deliver";
import { dataDeletionDeadline, installationPayload } from "../events/topics";

export const installationRoutes = createRouter();

const EnvironmentSchema = z.enum(["development", "staging", "production"]).openapi("Environment");

export const Installation = z
  .object({
    id: z.string(),
    plugin: z.string(),
    version: z.string(),
    environment: EnvironmentSchema,
    grants: z.array(z.object({ permission: z.string(), allows: z.string() })),
    config: z
      .record(z.string(), z.unknown())
      .openapi({ description: "Settings; writeOnly (secret) settings are never returned" }),
    endpoint: z.string().openapi({
      description:
        "Absolute path on the gateway; any method on {endpoint}/… reaches the plugin's routes",
      example: "/p/ins_00000000000000000000",
    }),
    createdAt: z.string().datetime(),
  })
  .openapi("Installation");

const InstallRequest = z
  .object({
    plugin: z.string().max(120).openapi({ example: "@example/hello" }),
    version: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: "Defaults to the latest published version" }),
    environment: EnvironmentSchema.default("development"),
    config: z.record(z.string(), z.unknown()).default({}),
    secrets: z.record(z.string(), z.string().max(4096)).default({}),
    grants: z
      .array(z.string().max(300))
      .max(50)
      .openapi({ description: "Must be exactly the permissions the manifest declares" }),
  })
  .strict()
  .openapi("InstallRequest", {
    example: {
      plugin: "@example/hello",
      environment: "development",
      config: { greeting: "Hi" },
      grants: ["storage"],
    },
  });

export const endpointOf = (id: string) => `/p/${id}`;

/** Apps answer at `/apps/{organization}/{environment}/{app}`; everything else at `/p/{id}`. */
export function endpointFor(
  row: Pick<InstallationRow, "id" | "environment">,
  plugin: string,
  kind: string | undefined,
  orgSlug: string | null,
): string {
  if (kind === "app" && orgSlug)
    return `/apps/${orgSlug}/${row.environment}/${plugin.split("/")[1] ?? plugin}`;
  return endpointOf(row.id);
}

export function toInstallation(
  row: InstallationRow,
  plugin: string,
  version: string,
  manifest: Manifest,
  orgSlug: string | null = null,
) {
  return {
    id: row.id,
    plugin,
    version,
    environment: row.environment,
    grants: row.grants.map((permission) => ({
      permission,
      allows: describePermission(permission),
    })),
    config: redactConfig(manifest.config, row.config),
    endpoint: endpointFor(row, plugin, manifest.kind, orgSlug),
    createdAt: iso(row.createdAt),
  };
}

export const callerOf = (c: Context<AppEnv>, p: Principal, orgId: string): Caller => ({
  orgId,
  subject: p.subject,
  requestId: c.get("requestId"),
});

const install = createRoute({
  method: "post",
  path: "/",
  tags: ["Installations"],
  summary: "Install a plugin into an environment (calls its initialize)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    body: { required: true, content: { "application/json": { schema: InstallRequest } } },
  },
  responses: {
    201: { description: "Installed", content: { "application/json": { schema: Installation } } },
    ...problems(400, 401, 402, 403, 404, 409, 413, 415, 429),
    502: problemWith("The plugin's initialize failed"),
    503: problemWith("Plugins cannot run right now"),
    504: problemWith("The plugin's initialize exceeded its limits or timed out"),
  },
});

installationRoutes.openapi(install, async (c) => {
  const p = requireScope(c, "installations:write");
  if (!p.orgId) throw badRequest("Only an organization installs plugins.");
  const body = c.req.valid("json");
  const db = getDb(c.env.DB);
  const plugin = await findPluginByName(db, body.plugin);
  if (!plugin) throw notFound(`The plugin ${body.plugin}`);
  if (plugin.suspendedAt !== null)
    throw new ApiError({
      status: 403,
      type: "listing-suspended",
      title: "Forbidden",
      detail: `${body.plugin} is suspended by the platform operator and cannot be installed.`,
    });
  if (!(await hasEntitlement(db, p.orgId, plugin))) throw paymentRequired(plugin.name);
  // "Latest" is the latest release; a development version only when named, and only by its
  // publisher (to anyone else it does not exist).
  const version = body.version
    ? await findVersion(db, plugin.id, body.version)
    : ((await listVersions(db, plugin.id))
        .filter((v) => v.status === "published" && !isDevVersion(v.version))
        .sort((a, b) => semver.rcompare(a.version, b.version))[0] ?? null);
  if (!version || !versionVisibleTo(version, plugin, p.orgId, p.role === "operator"))
    throw notFound(`${body.plugin}@${body.version ?? "latest"}`);
  const keyRevoked = await revokedSignerProblem(db, plugin.name, version);
  if (keyRevoked) throw keyRevoked;
  const manifest = version.manifest;

  const { missing, undeclared } = compareGrants(manifest.permissions, body.grants);
  if (missing.length > 0 || undeclared.length > 0) {
    const errors = [
      ...missing.map((m) => ({
        path: "grants",
        message: `missing ${m} (${describePermission(m)})`,
      })),
      ...undeclared.map((u) => ({ path: "grants", message: `${u} is not declared by the plugin` })),
    ];
    throw badRequest(
      missing.length > 0
        ? `The install must grant every declared permission; missing: ${missing.join(", ")}.`
        : `Grants not declared by the plugin: ${undeclared.join(", ")}.`,
      "grants-mismatch",
      { errors },
    );
  }
  const config = validateConfig(manifest.config, body.config);
  if (!config.ok)
    throw badRequest(
      `The configuration is invalid: ${config.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      "validation-failed",
      { errors: config.errors },
    );
  const secretErrors = checkSecrets(body.grants, body.secrets);
  if (secretErrors.length > 0)
    throw badRequest(
      `The secrets do not match the grants: ${secretErrors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      "validation-failed",
      { errors: secretErrors },
    );
  const org = await getOrganization(db, p.orgId);
  if (
    plugin.kind === "app" &&
    org &&
    (await findAppInstallation(db, org.slug, body.environment, plugin.name.split("/")[1] ?? ""))
  ) {
    throw conflict(
      `An app named "${plugin.name.split("/")[1]}" is already installed in ${body.environment}; its endpoint would clash.`,
      "app-name-taken",
    );
  }
  if (await findActiveInstallation(db, p.orgId, plugin.id, body.environment)) {
    throw conflict(
      `${body.plugin} is already installed in ${body.environment}; upgrade or uninstall it first.`,
      "already-installed",
    );
  }

  const now = Date.now();
  const id = newId("ins");
  const sealed: SealedValues = { secrets: body.secrets, config: config.sealedConfig };
  const hasSealed =
    Object.keys(body.secrets).length > 0 || Object.keys(config.sealedConfig).length > 0;
  const row: InstallationRow = {
    id,
    orgId: p.orgId,
    pluginId: plugin.id,
    versionId: version.id,
    environment: body.environment as Environment,
    grants: body.grants,
    config: config.plain,
    secretsEnc: hasSealed
      ? await encryptString(c.env.ATOLL_SECRET_KEY, JSON.stringify(sealed), `installation:${id}`)
      : null,
    status: "active",
    createdAt: now,
    updatedAt: now,
  };
  const spec = specFrom(row, plugin.name, version, manifest, sealed);
  refuseOversizedBindings(spec);
  const host = pluginHost(c);
  await prepareHost(host, spec);
  // initialize runs before anything is stored: a failing plugin leaves no installation behind.
  const init = await callLifecycle(
    host,
    spec,
    callerOf(c, p, p.orgId),
    "initialize",
    { installationId: id, config: spec.config, environment: spec.environment },
    pluginDeadline(c.env),
  );
  if (init.implemented && (init.status < 200 || init.status >= 300)) {
    await host.retire?.(spec).catch(() => undefined);
    throw new ApiError({
      status: 502,
      type: "plugin-initialize-failed",
      title: "Plugin initialize failed",
      detail: `The plugin's initialize answered ${init.status}${describeBody(init.body)}.`,
    });
  }
  const created = eventRecord(
    db,
    {
      topic: "installation.created",
      orgIds: [p.orgId, plugin.orgId],
      environment: row.environment,
      payload: installationPayload({
        id,
        orgId: p.orgId,
        plugin: plugin.name,
        version: version.version,
        environment: row.environment,
      }),
    },
    { now },
  );
  try {
    await db.batch([
      db.insert(installations).values(row),
      installCountStatement(db, plugin.id, 1),
      db.insert(installationEvents).values({
        installationId: id,
        orgId: p.orgId,
        action: "installed",
        toVersion: version.version,
        grants: row.grants,
        actor: actorOf(p),
        at: now,
      }),
      auditInsert(
        db,
        {
          orgId: p.orgId,
          actor: actorOf(p),
          action: "installation.created",
          target: id,
          details: {
            plugin: plugin.name,
            version: version.version,
            environment: row.environment,
            grants: body.grants,
          },
          requestId: c.get("requestId"),
        },
        now,
      ),
      created.statement,
    ]);
  } catch (err) {
    await callLifecycle(host, spec, callerOf(c, p, p.orgId), "cleanup", {
      installationId: id,
    }).catch(() => undefined);
    await host.retire?.(spec).catch(() => undefined);
    if (isUniqueViolation(err))
      throw conflict(
        `${body.plugin} was installed in ${body.environment} concurrently.`,
        "already-installed",
      );
    throw err;
  }
  forgetApps(c.env);
  await dispatchEvent(c.env, db, created.id);
  return c.json(
    toInstallation(row, plugin.name, version.version, manifest, org?.slug ?? null),
    201,
  );
});

/**
 * Refuses (400, each field named) settings or secrets whose binding would exceed Cloudflare's 5 KB
 * per binding value, on every backend alike, before anything is uploaded or written.
 */
export function refuseOversizedBindings(spec: PluginSpec): void {
  const errors = oversizedBindings(spec);
  if (errors.length > 0)
    throw badRequest(
      `Too large for a binding: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      "validation-failed",
      { errors },
    );
}

/** Lets the backend make the installation runnable (the dispatch backend uploads its Worker). */
export async function prepareHost(host: PluginHost, spec: PluginSpec): Promise<void> {
  if (!host.prepare) return;
  try {
    await host.prepare(spec);
  } catch (err) {
    // An upload that failed in the end may still have landed (a 5xx after the script was
    // stored, an answer lost on the way): remove it, so no Worker outlives the refusal.
    await host.retire?.(spec).catch(() => undefined);
    // Bytes that are not the published (or signed) package are refused, not retried.
    if (err instanceof PackageIntegrityError)
      throw new ApiError({
        status: 502,
        type: "plugin-integrity",
        title: "Plugin refused",
        detail: "The plugin's package failed its integrity check and was not deployed.",
        internal: err.message,
      });
    const wait = err instanceof HostApiError ? err.retryAfterSeconds : undefined;
    throw new ApiError({
      status: 502,
      type: "plugin-deploy-failed",
      title: "Plugin could not be deployed",
      detail: wait
        ? `The plugin's Worker could not be deployed: the deployment API is busy; try again in ${wait} s.`
        : "The plugin's Worker could not be deployed; try again.",
      internal: err instanceof Error ? err.message : String(err),
      ...(wait ? { headers: { "retry-after": String(wait) } } : {}),
    });
  }
}

export function describeBody(body: unknown): string {
  if (body && typeof body === "object" && "error" in body)
    return `: ${String((body as { error: unknown }).error).slice(0, 200)}`;
  return "";
}

export const list = createRoute({
  method: "get",
  path: "/",
  tags: ["Installations"],
  summary: "The organization's active installations",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "Installations",
      content: {
        "application/json": { schema: z.object({ installations: z.array(Installation) }) },
      },
    },
    ...problems(401, 403, 429),
  },
});

installationRoutes.openapi(list, async (c) => {
  const p = requireScope(c, "installations:read");
  if (!p.orgId) return c.json({ installations: [] }, 200);
  const rows = await listInstallations(getDb(c.env.DB), p.orgId);
  const slug = (await getOrganization(getDb(c.env.DB), p.orgId))?.slug ?? null;
  return c.json(
    {
      installations: rows.map((r) =>
        toInstallation(r.installation, r.plugin, r.version, r.manifest, slug),
      ),
    },
    200,
  );
});

const Params = z.object({ installationId: IdParam("installationId", "ins") });

/** The caller's active installation with its spec, or 404 (also for other organizations'). */
export async function ownedInstallation(c: Context<AppEnv>, p: Principal, id: string) {
  const db = getDb(c.env.DB);
  const row = await getInstallation(db, id);
  if (!row || row.status !== "active" || (p.role !== "operator" && row.orgId !== p.orgId))
    throw notFound("The installation");
  const spec = await installationSpec(c.env, id);
  if (!spec) throw notFound("The installation");
  return { row, spec };
}

const get = createRoute({
  method: "get",
  path: "/{installationId}",
  tags: ["Installations"],
  summary: "One installation",
  security: AUTHENTICATED,
  request: { params: Params },
  responses: {
    200: {
      description: "The installation",
      content: { "application/json": { schema: Installation } },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

installationRoutes.openapi(get, async (c) => {
  const p = requireScope(c, "installations:read");
  const { row, spec } = await ownedInstallation(c, p, c.req.valid("param").installationId);
  const version = await findVersion(getDb(c.env.DB), row.pluginId, spec.version);
  const slug = (await getOrganization(getDb(c.env.DB), row.orgId))?.slug ?? null;
  return c.json(
    toInstallation(row, spec.plugin, spec.version, version?.manifest ?? ({} as Manifest), slug),
    200,
  );
});

const InstallationLog = z
  .object({
    id: z.number().int().openapi({ description: "The record's cursor (increasing)." }),
    at: z.string().datetime(),
    level: z.enum(LOG_LEVELS),
    message: z.string().openapi({ description: "Redacted: secrets and credentials never appear." }),
    stack: z.string().optional(),
  })
  .openapi("InstallationLog");

const logs = createRoute({
  method: "get",
  path: "/{installationId}/logs",
  tags: ["Installations"],
  summary: "The installation's console output and uncaught exceptions, oldest first",
  description:
    "What the plugin wrote with `console.*` and the exceptions it did not catch, with stack traces, " +
    "redacted (the installation's secrets and write-only settings, API keys, JWTs, bearer and " +
    `basic credentials, password-like pairs). The newest ${LOGS_KEPT} records are kept, none older ` +
    "than 7 days; uninstalling deletes them. To follow, call again with `after` set to `next`.",
  security: AUTHENTICATED,
  request: {
    params: Params,
    query: z.object({
      after: z.coerce
        .number()
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .default(0)
        .openapi({ description: "Only records after this cursor (a record's id, or `next`)." }),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: {
      description: "Log records",
      content: {
        "application/json": {
          schema: z
            .object({
              logs: z.array(InstallationLog),
              next: z.number().int().openapi({ description: "The cursor to pass as `after`." }),
            })
            .openapi("InstallationLogs"),
        },
      },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

installationRoutes.openapi(logs, async (c) => {
  const p = requireScope(c, "installations:read");
  const { row } = await ownedInstallation(c, p, c.req.valid("param").installationId);
  const { after, limit } = c.req.valid("query");
  const records = await readLogs(getDb(c.env.DB), row.id, after, limit);
  return c.json(
    {
      logs: records.map((r) => ({ ...r, at: iso(r.at) })),
      next: records.at(-1)?.id ?? after,
    },
    200,
  );
});

const uninstall = createRoute({
  method: "delete",
  path: "/{installationId}",
  tags: ["Installations"],
  summary: "Uninstall: calls the plugin's cleanup, then removes the installation and its data",
  security: AUTHENTICATED,
  request: { params: Params },
  responses: { 204: { description: "Uninstalled" }, ...problems(400, 401, 403, 404, 429) },
});

installationRoutes.openapi(uninstall, async (c) => {
  const p = requireScope(c, "installations:write");
  const { row, spec } = await ownedInstallation(c, p, c.req.valid("param").installationId);
  let cleanup = "ok";
  const host = pluginHost(c);
  try {
    const r = await callLifecycle(
      host,
      spec,
      callerOf(c, p, row.orgId),
      "cleanup",
      { installationId: row.id },
      pluginDeadline(c.env),
    );
    cleanup = !r.implemented ? "not-implemented" : r.status < 300 ? "ok" : `failed-${r.status}`;
  } catch (err) {
    // A broken plugin cannot keep an organization from uninstalling it; the outcome is audited.
    cleanup = err instanceof ApiError ? err.type : "error";
  }
  const db = getDb(c.env.DB);
  const now = Date.now();
  // Its own installation.deleted reaches the plugin before its code and storage are retired.
  const deleted = eventRecord(
    db,
    {
      topic: "installation.deleted",
      orgIds: [row.orgId, (await findPluginOwner(db, row.pluginId)) ?? row.orgId],
      environment: row.environment,
      payload: {
        ...installationPayload({
          id: row.id,
          orgId: row.orgId,
          plugin: spec.plugin,
          version: spec.version,
          environment: row.environment,
        }),
        dataDeletionDeadline: dataDeletionDeadline(now),
      },
    },
    { guarded: true, now },
  );
  // Uninstall happens once: the update is guarded on "still active", and the count, the history
  // event, the audit entry and the platform event each follow the statement before them
  // (src/platform/db/guard.ts).
  const [removed] = await db.batch([
    db
      .update(installations)
      .set({ status: "uninstalled", updatedAt: now, secretsEnc: null })
      .where(and(eq(installations.id, row.id), eq(installations.status, "active")))
      .returning({ id: installations.id }),
    installCountStatement(db, row.pluginId, -1, true),
    insertIfPreviousChanged(db, installationEvents, {
      installationId: row.id,
      orgId: row.orgId,
      action: "uninstalled",
      fromVersion: spec.version,
      actor: actorOf(p),
      at: now,
    }),
    auditInsertIfPreviousChanged(
      db,
      {
        orgId: row.orgId,
        actor: actorOf(p),
        action: "installation.removed",
        target: row.id,
        details: { plugin: spec.plugin, cleanup },
        requestId: c.get("requestId"),
      },
      now,
    ),
    deleted.statement,
    // Last: the guarded statements above each follow the one before them.
    deleteLogsStatement(db, row.id),
  ]);
  if (removed.length === 0) throw notFound("The installation");
  forgetInstallation(c.env, row.id);
  forgetApps(c.env);
  await dispatchEvent(c.env, db, deleted.id);
  await notifyRemovedPlugin(c.env, db, host, spec, deleted.id);
  await host.clearStorage(row.id);
  await host.retire?.(spec).catch((err: unknown) =>
    console.error(
      JSON.stringify({
        level: "error",
        msg: "retiring a plugin script failed",
        installationId: row.id,
        error: String(err),
      }),
    ),
  );
  return c.body(null, 204);
});

const execute = createRoute({
  method: "post",
  path: "/{installationId}/execute",
  tags: ["Installations"],
  summary: "Run the plugin's execute(input)",
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
              input: z
                .unknown()
                .refine((v) => v !== undefined, "Required: any JSON value (null for none)")
                .openapi({ description: "The plugin's input: any JSON value (null for none)" }),
            })
            .strict()
            .openapi("ExecuteRequest", { required: ["input"] }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The plugin's output",
      content: {
        "application/json": {
          schema: z.object({ output: z.unknown() }).openapi("ExecuteResponse"),
        },
      },
    },
    ...problems(400, 401, 402, 403, 404, 413, 415, 429),
    422: problemWith("The plugin refused the input (its message is in detail)"),
    501: problemWith("The plugin does not implement execute"),
    502: problemWith("The plugin failed or answered garbage"),
    503: problemWith("Plugins cannot run right now"),
    504: problemWith("The plugin exceeded its limits or timed out"),
  },
});

installationRoutes.openapi(execute, async (c) => {
  const p = requireScope(c, "plugins:call");
  const id = c.req.valid("param").installationId;
  // Warm path: the cached spec only (no D1), as for the plugin's own routes.
  const cached = await installationSpec(c.env, id);
  if (!cached || (p.role !== "operator" && cached.orgId !== p.orgId))
    throw notFound("The installation");
  // The installation's own limit and the kill switch's invalidation, as for its routes.
  const lease = await takeInstallationLease(c.env, cached);
  if (!lease.ok) throw new ApiError(lease.problem);
  const stale = isStale(lease, cached.loadedAt);
  if (stale) forgetInstallation(c.env, id);
  const spec = stale ? await installationSpec(c.env, id) : cached;
  if (!spec || (p.role !== "operator" && spec.orgId !== p.orgId))
    throw notFound("The installation");
  const row = { orgId: spec.orgId };
  const { input } = c.req.valid("json");
  // The till: the same paid-listing check and meter as the plugin's routes.
  const r = await tilled(
    tillOf(c),
    spec,
    () =>
      callLifecycle(
        pluginHost(c),
        spec,
        callerOf(c, p, row.orgId),
        "execute",
        { input },
        pluginDeadline(c.env),
      ),
    (x) => x.status,
  );
  if (!r.implemented)
    throw new ApiError({
      status: 501,
      type: "plugin-no-execute",
      title: "Not implemented",
      detail: `${spec.plugin} does not implement execute.`,
    });
  if (r.status >= 400 && r.status < 500) {
    // The plugin refused the input: that is the caller's problem, in the plugin's words.
    throw new ApiError({
      status: 422,
      type: "plugin-rejected-input",
      title: "The plugin refused the input",
      detail: `${spec.plugin} answered ${r.status}${describeBody(r.body)}.`,
    });
  }
  if (r.status < 200 || r.status >= 300) {
    throw new ApiError({
      status: 502,
      type: "plugin-error",
      title: "Plugin failed",
      detail: `The plugin's execute answered ${r.status}${describeBody(r.body)}.`,
    });
  }
  if (!r.body || typeof r.body !== "object" || !("output" in r.body)) {
    throw new ApiError({
      status: 502,
      type: "plugin-bad-response",
      title: "Plugin answered garbage",
      detail: "The plugin's execute answer has no output.",
    });
  }
  return c.json({ output: (r.body as { output: unknown }).output }, 200);
});
