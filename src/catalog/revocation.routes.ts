/**
 * The kill switch's routes: the publisher (for its own versions) or the operator revokes a
 * version, and a tenant reads the notices the platform left it (./kill-switch.ts does the work).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import { actorOf } from "../access/audit";
import { requireOrg, requireScope } from "../access/principal";
import { createRouter } from "../platform/http/router";
import { getDb } from "../platform/db/client";
import { orgNotices, pluginVersions } from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { conflict, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, ListingParams, iso, problems } from "../platform/http/schemas";
import { forgetInstallation, loadSpec } from "../runtime/resolve";
import { pluginHost } from "../runtime/invoke";
import { dispatchEvent } from "../events/emit";
import { findPluginByName } from "./queries";
import { invalidateInstallations, revokeVersion } from "./kill-switch";

export const revocationRoutes = createRouter();

const RevokeBody = z
  .object({ reason: z.string().trim().min(1).max(1000) })
  .strict()
  .openapi("Revocation", { example: { reason: "The release leaks customer data." } });

const revoke = createRoute({
  method: "post",
  path: "/v1/plugins/{scope}/{name}/versions/{version}/revoke",
  tags: ["Plugins"],
  summary:
    "Revoke a version (the kill switch): running installations stop within seconds, falling back to their previous good version or answering 503",
  description:
    "The publisher revokes its own versions; the operator any. Irreversible: publish a new version instead. Each installation on the version moves to the version it ran before, if that one is still published (or yanked), else answers 503 `version-revoked` until the tenant moves it; each tenant gets a notice (GET /v1/organizations/{orgId}/notices).",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: ListingParams.extend({
      version: z
        .string()
        .max(64)
        .openapi({ param: { name: "version", in: "path" }, example: "1.0.0" }),
    }),
    body: { required: true, content: { "application/json": { schema: RevokeBody } } },
  },
  responses: {
    200: {
      description: "Revoked",
      content: {
        "application/json": {
          schema: z.object({
            plugin: z.string(),
            version: z.string(),
            status: z.literal("revoked"),
            fellBack: z.number().int().openapi({ description: "Installations moved back" }),
            stopped: z.number().int().openapi({ description: "Installations now answering 503" }),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 409, 413, 415, 429),
  },
});

revocationRoutes.openapi(revoke, async (c) => {
  const p = requireScope(c, "plugins:publish");
  const { scope, name, version } = c.req.valid("param");
  const { reason } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const plugin = await findPluginByName(db, `${scope}/${name}`);
  if (!plugin || (p.role !== "operator" && plugin.orgId !== p.orgId))
    throw notFound(`The plugin ${scope}/${name}`);
  const [target] = await db
    .select()
    .from(pluginVersions)
    .where(eq(pluginVersions.pluginId, plugin.id))
    .then((rows) => rows.filter((v) => v.version === version));
  if (!target) throw notFound(`${plugin.name}@${version}`);
  if (target.status === "revoked")
    throw conflict(`${version} is already revoked.`, "invalid-transition");
  const done = await revokeVersion(db, plugin, target, {
    actor: actorOf(p),
    reason,
    requestId: c.get("requestId"),
  });
  const ids = [...done.fellBack, ...done.stopped].map((i) => i.installationId);
  for (const id of ids) forgetInstallation(c.env, id);
  await invalidateInstallations(c.env.RATE_LIMITER, ids);
  for (const id of done.eventIds) await dispatchEvent(c.env, db, id);
  // A backend that deploys per revision (dispatch) needs the fallback's Worker; until it is
  // uploaded the new revision's script does not exist, so the revoked code cannot run meanwhile.
  const host = pluginHost(c);
  if (host.prepare)
    for (const f of done.fellBack) {
      const spec = await loadSpec(db, c.env.ATOLL_SECRET_KEY, f.installationId);
      if (spec)
        await host.prepare(spec).catch((err: unknown) =>
          console.error(
            JSON.stringify({
              level: "error",
              msg: "kill switch: fallback upload failed",
              installationId: f.installationId,
              error: err instanceof Error ? err.message : String(err),
            }),
          ),
        );
    }
  return c.json(
    {
      plugin: plugin.name,
      version,
      status: "revoked" as const,
      fellBack: done.fellBack.length,
      stopped: done.stopped.length,
    },
    200,
  );
});

const Notice = z
  .object({
    id: z.string(),
    kind: z.string(),
    target: z.string().nullable(),
    message: z.string(),
    createdAt: z.string().datetime(),
  })
  .openapi("Notice");

const notices = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}/notices",
  tags: ["Organizations"],
  summary:
    "What the platform told the organization (e.g. a version it runs was revoked), newest first",
  security: AUTHENTICATED,
  request: { params: z.object({ orgId: IdParam("orgId", "org") }) },
  responses: {
    200: {
      description: "Notices",
      content: { "application/json": { schema: z.object({ notices: z.array(Notice) }) } },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

revocationRoutes.openapi(notices, async (c) => {
  const { orgId } = c.req.valid("param");
  requireOrg(c, orgId, "org:read");
  const rows = await listNotices(getDb(c.env.DB), orgId);
  return c.json({ notices: rows.map((n) => ({ ...n, createdAt: iso(n.createdAt) })) }, 200);
});

/** The organization's newest notices. */
export function listNotices(db: ReturnType<typeof getDb>, orgId: string) {
  return db
    .select({
      id: orgNotices.id,
      kind: orgNotices.kind,
      target: orgNotices.target,
      message: orgNotices.message,
      createdAt: orgNotices.createdAt,
    })
    .from(orgNotices)
    .where(eq(orgNotices.orgId, orgId))
    .orderBy(desc(orgNotices.createdAt))
    .limit(50);
}
