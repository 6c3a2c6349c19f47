/** Connections: a tenant's authenticated link to a provider, credentials kept in the vault. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { actorOf, auditInsert } from "../access/audit";
import { requireScope, type Principal } from "../access/principal";
import { createRouter, type AppEnv } from "../platform/http/router";
import { newId } from "../platform/crypto/encoding";
import { getDb, type Db } from "../platform/db/client";
import { connections, syncs, type ConnectionRow } from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { ApiError, badRequest, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, problems, iso } from "../platform/http/schemas";
import { CONNECTORS, PROVIDER_IDS } from "./connectors";
import { seal } from "./vault";
import { checkEgressUrl, egressOptions, type EgressOptions } from "./egress-policy";
import type { Call, Send } from "./connectors/types";
import type { ProviderResult } from "./http";

export const connectionRoutes = createRouter();

const ProviderSchema = z.enum(PROVIDER_IDS).openapi("Provider");
const EnvironmentSchema = z.enum(["development", "staging", "production"]);

export const Connection = z
  .object({
    id: z.string(),
    provider: ProviderSchema,
    name: z.string(),
    environment: EnvironmentSchema,
    baseUrl: z.string(),
    status: z.enum(["active", "error", "revoked"]),
    lastError: z.string().nullable(),
    webhookUrl: z
      .string()
      .openapi({ description: "Where the provider sends webhooks for this connection" }),
    refreshedAt: z.string().datetime().nullable(),
    flag: z.object({ reason: z.string(), at: z.string().datetime() }).nullable().openapi({
      description:
        "Set when the connection misbehaved as a sync source (e.g. paged without progress); cleared by reconnecting",
    }),
    createdAt: z.string().datetime(),
  })
  .openapi("Connection");

export const toConnection = (r: ConnectionRow) => ({
  id: r.id,
  provider: r.provider,
  name: r.name,
  environment: r.environment,
  baseUrl: r.baseUrl,
  status: r.status,
  lastError: r.lastError,
  webhookUrl: `/v1/webhooks/${r.id}`,
  refreshedAt: r.refreshedAt ? iso(r.refreshedAt) : null,
  flag: r.flagReason && r.flaggedAt ? { reason: r.flagReason, at: iso(r.flaggedAt) } : null,
  createdAt: iso(r.createdAt),
});

export function brokerFor(env: Env, connectionId: string) {
  return env.CONNECTION_BROKER.get(env.CONNECTION_BROKER.idFromName(connectionId));
}

/** The connectors' `send` for a connection: the broker calls, the schema is checked here. */
export function sender(env: Env, connectionId: string): Send {
  const broker = brokerFor(env, connectionId);
  return async <T>(call: Call<T>): Promise<ProviderResult<T>> => {
    const { schema, errorMessage: _e, ...raw } = call;
    const res = (await broker.request(connectionId, raw)) as ProviderResult<unknown>;
    if (!res.ok) return res;
    const parsed = schema.safeParse(res.data ?? {});
    if (!parsed.success)
      return {
        ok: false,
        reason: "malformed",
        status: res.status,
        message: `unexpected answer: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join(".")} ${i.message}`)
          .join("; ")}`,
      };
    return { ok: true, status: res.status, data: parsed.data, headers: new Headers() };
  };
}

/** The organization's usable connection to a provider in an environment (the newest). */
export async function findConnection(
  db: Db,
  orgId: string,
  provider: string,
  environment: string,
): Promise<ConnectionRow | null> {
  const [row] = await db
    .select()
    .from(connections)
    .where(
      and(
        eq(connections.orgId, orgId),
        eq(connections.provider, provider as ConnectionRow["provider"]),
        eq(connections.environment, environment as ConnectionRow["environment"]),
        eq(connections.status, "active"),
      ),
    )
    .orderBy(desc(connections.createdAt))
    .limit(1);
  return row ?? null;
}

export async function getConnection(db: Db, id: string): Promise<ConnectionRow | null> {
  return (await db.select().from(connections).where(eq(connections.id, id)))[0] ?? null;
}

/** A connection of the caller's organization (others' are 404). */
export async function ownedConnection(
  c: Context<AppEnv>,
  p: Principal,
  id: string,
): Promise<ConnectionRow> {
  const row = await getConnection(getDb(c.env.DB), id);
  if (!row || (p.role !== "operator" && row.orgId !== p.orgId)) throw notFound("The connection");
  return row;
}

/**
 * A base URL a tenant gives: the integrations egress policy (https, public host, default port, no
 * credentials; http and loopback only with the local setting), and no query or fragment. The same
 * policy is applied again whenever the URL is used (src/integrations/http.ts, the broker).
 */
export function checkBaseUrl(raw: string, egress: EgressOptions): string {
  const verdict = checkEgressUrl(raw, egress);
  if (!verdict.ok)
    throw badRequest(`baseUrl ${verdict.message}.`, "validation-failed", {
      errors: [{ path: "baseUrl", message: verdict.message }],
    });
  const url = verdict.url;
  if (url.search || url.hash)
    throw badRequest("baseUrl must not have a query or fragment.", "validation-failed", {
      errors: [{ path: "baseUrl", message: "must not have a query or fragment" }],
    });
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** One provider's connection request: its own credential fields, and a baseUrl where it has no default. */
function connectionRequest<P extends (typeof PROVIDER_IDS)[number]>(provider: P) {
  const connector = CONNECTORS[provider];
  const baseUrl = z
    .string()
    .max(500)
    .openapi({
      description: connector.defaultBaseUrl
        ? `The provider's API origin (default ${connector.defaultBaseUrl}): sandboxes, regional instances, local stand-ins.`
        : "The provider's API origin (required: this provider has no default).",
    });
  return z
    .object({
      provider: z.literal(provider),
      credentials: connector.credentials.openapi({
        description: `${connector.label} credentials (stored encrypted; never returned)`,
      }),
      environment: EnvironmentSchema.default("production"),
      baseUrl: connector.defaultBaseUrl ? baseUrl.optional() : baseUrl,
      name: z.string().min(1).max(80).optional(),
    })
    .strict();
}

const CreateConnection = z
  .discriminatedUnion("provider", [
    connectionRequest("salesforce"),
    connectionRequest("hubspot"),
    connectionRequest("slack"),
    connectionRequest("generic-crm"),
  ])
  .openapi("CreateConnection", {
    example: {
      provider: "slack",
      credentials: { botToken: "xoxb-0000-example", signingSecret: "example-signing-secret" },
      environment: "production",
    },
  });

const create = createRoute({
  method: "post",
  path: "/",
  tags: ["Integrations"],
  summary:
    "Connect a third-party service: authenticates once, then stores the credentials encrypted",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    body: { required: true, content: { "application/json": { schema: CreateConnection } } },
  },
  responses: {
    201: { description: "Connected", content: { "application/json": { schema: Connection } } },
    ...problems(400, 401, 403, 413, 415, 429, 502),
  },
});

connectionRoutes.openapi(create, async (c) => {
  const p = requireScope(c, "integrations:write");
  if (!p.orgId) throw badRequest("Only an organization connects services.");
  const body = c.req.valid("json");
  const connector = CONNECTORS[body.provider];
  const egress = egressOptions(c.env);
  const baseUrl = checkBaseUrl(body.baseUrl ?? connector.defaultBaseUrl, egress);

  const auth = await connector.authenticate(baseUrl, body.credentials, egress);
  if (!auth.ok) {
    if (auth.reason === "egress")
      throw badRequest(
        `${connector.label}: ${auth.message}; nothing was stored.`,
        "egress-refused",
        { provider: body.provider },
      );
    if (auth.reason === "auth" || auth.reason === "invalid")
      throw badRequest(
        `${connector.label} refused the credentials: ${auth.message}`,
        "provider-refused",
        { provider: body.provider },
      );
    throw new ApiError({
      status: 502,
      type: "provider-unavailable",
      title: "Provider unavailable",
      detail: `${connector.label} did not answer properly (${auth.message}); nothing was stored, try again.`,
    });
  }
  const id = newId("con");
  const now = Date.now();
  const creds = await seal(c.env, id, "credentials", body.credentials);
  const grant = await seal(c.env, id, "grant", auth.data);
  const row: ConnectionRow = {
    id,
    orgId: p.orgId,
    provider: body.provider,
    environment: body.environment,
    name: body.name ?? CONNECTORS[body.provider].label,
    baseUrl,
    status: "active",
    credentialsEnc: creds.enc,
    grantEnc: grant.enc,
    keyId: creds.keyId,
    grantExpiresAt: auth.data.expiresAt,
    lastError: null,
    refreshedAt: now,
    createdAt: now,
    revokedAt: null,
    flagReason: null,
    flaggedAt: null,
  };
  const db = getDb(c.env.DB);
  await db.batch([
    db.insert(connections).values(row),
    auditInsert(
      db,
      {
        orgId: p.orgId,
        actor: actorOf(p),
        action: "connection.created",
        target: id,
        details: { provider: body.provider, environment: body.environment },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  return c.json(toConnection(row), 201);
});

export const list = createRoute({
  method: "get",
  path: "/",
  tags: ["Integrations"],
  summary: "The organization's connections (never their credentials)",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "Connections",
      content: { "application/json": { schema: z.object({ connections: z.array(Connection) }) } },
    },
    ...problems(401, 403, 429),
  },
});

connectionRoutes.openapi(list, async (c) => {
  const p = requireScope(c, "integrations:read");
  const rows = p.orgId
    ? await getDb(c.env.DB)
        .select()
        .from(connections)
        .where(eq(connections.orgId, p.orgId))
        .orderBy(desc(connections.createdAt))
        .limit(200)
    : [];
  return c.json({ connections: rows.map(toConnection) }, 200);
});

const Params = z.object({ connectionId: IdParam("connectionId", "con") });

const getOne = createRoute({
  method: "get",
  path: "/{connectionId}",
  tags: ["Integrations"],
  summary: "A connection and its health (status, last error)",
  security: AUTHENTICATED,
  request: { params: Params },
  responses: {
    200: { description: "The connection", content: { "application/json": { schema: Connection } } },
    ...problems(400, 401, 403, 404, 429),
  },
});

connectionRoutes.openapi(getOne, async (c) => {
  const p = requireScope(c, "integrations:read");
  return c.json(toConnection(await ownedConnection(c, p, c.req.valid("param").connectionId)), 200);
});

/** The reason a sync shows when a connection of it is deleted. */
export function pausedByDeletion(
  side: "source" | "target",
  connectionId: string,
  provider: string | undefined,
): string {
  const label = provider
    ? ((CONNECTORS as Record<string, { label: string }>)[provider]?.label ?? provider)
    : undefined;
  return `the ${side} connection ${connectionId}${label ? ` (${label})` : ""} was deleted`;
}

const remove = createRoute({
  method: "delete",
  path: "/{connectionId}",
  tags: ["Integrations"],
  summary:
    "Disconnect: the credentials are destroyed and the connection can no longer be used; the syncs that use it are paused, with the reason",
  security: AUTHENTICATED,
  request: { params: Params },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404, 429) },
});

connectionRoutes.openapi(remove, async (c) => {
  const p = requireScope(c, "integrations:write");
  const row = await ownedConnection(c, p, c.req.valid("param").connectionId);
  const db = getDb(c.env.DB);
  const now = Date.now();
  await db.batch([
    db
      .update(connections)
      .set({ status: "revoked", revokedAt: now, credentialsEnc: "", grantEnc: null })
      .where(eq(connections.id, row.id)),
    // Its syncs stop with it, saying why (a run in progress stops at its next page).
    ...(["source", "target"] as const).map((side) =>
      db
        .update(syncs)
        .set({
          status: "paused",
          pausedReason: pausedByDeletion(side, row.id, row.provider),
          updatedAt: now,
        })
        .where(eq(side === "source" ? syncs.sourceId : syncs.targetId, row.id)),
    ),
    auditInsert(
      db,
      {
        orgId: row.orgId,
        actor: actorOf(p),
        action: "connection.revoked",
        target: row.id,
        details: { provider: row.provider },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  await brokerFor(c.env, row.id).forget();
  return c.body(null, 204);
});
