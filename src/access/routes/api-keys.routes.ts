/** API keys: create (shown once), list (never the secret), revoke. */
import { createRoute, z } from "@hono/zod-openapi";
import { actorOf, auditInsert } from "../audit";
import { requireScope } from "../principal";
import { createRouter } from "../../platform/http/router";
import { getDb } from "../../platform/db/client";
import { apiKeys, type ApiKeyRow } from "../../platform/db/schema";
import { badRequest, forbidden, notFound } from "../../platform/http/problem";
import { AUTHENTICATED, IdParam, problems, iso } from "../../platform/http/schemas";
import { jsonBody } from "../../platform/http/middleware";
import { ScopeSchema } from "../schemas";
import { scopesBeyond } from "../scopes";
import {
  MAX_KEY_LIFETIME_MS,
  defaultKeyExpiry,
  findKeyById,
  listKeys,
  prepareKey,
  revokeKeyStatement,
} from "../api-keys";
import { revokeCredentials } from "../revoke";

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({
      description: "The key's first characters, to recognise it",
      example: "atk_3fK9xQ2m",
    }),
    scopes: z.array(z.string()),
    userId: z.string(),
    createdAt: z.string().datetime(),
    expiresAt: z.string().datetime().nullable(),
    revokedAt: z.string().datetime().nullable(),
    status: z.enum(["active", "expired", "revoked"]),
  })
  .openapi("ApiKey");

const CreateApiKey = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z
      .array(ScopeSchema)
      .min(1)
      .max(20)
      .optional()
      .openapi({ description: "Defaults to every scope the caller holds" }),
    expiresAt: z
      .string()
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "Defaults to 90 days from now; at most one year" }),
  })
  .strict()
  .openapi("CreateApiKey", {
    example: { name: "ci", scopes: ["org:read"], expiresAt: "2027-01-31T00:00:00Z" },
  });

const CreatedApiKey = ApiKey.extend({
  key: z.string().openapi({ description: "The full key. Shown only in this response." }),
}).openapi("CreatedApiKey");

function toApiKey(row: ApiKeyRow, now: number) {
  const status =
    row.revokedAt !== null
      ? "revoked"
      : row.expiresAt !== null && row.expiresAt <= now
        ? "expired"
        : "active";
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    userId: row.userId,
    createdAt: iso(row.createdAt),
    expiresAt: row.expiresAt === null ? null : iso(row.expiresAt),
    revokedAt: row.revokedAt === null ? null : iso(row.revokedAt),
    status,
  } as const;
}

export const apiKeyRoutes = createRouter();

export const create = createRoute({
  method: "post",
  path: "/",
  tags: ["API keys"],
  summary: "Create an API key for the caller (the key is shown once)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: { body: { required: true, content: { "application/json": { schema: CreateApiKey } } } },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: CreatedApiKey } } },
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

apiKeyRoutes.openapi(create, async (c) => {
  const p = requireScope(c, "keys:write");
  if (!p.userId || !p.orgId) throw forbidden("Only a member of an organization can hold API keys.");
  const body = c.req.valid("json");
  const now = Date.now();
  const scopes = body.scopes ?? p.scopes;
  const beyond = scopesBeyond(scopes, p.scopes);
  if (beyond.length > 0)
    throw forbidden(`A key cannot have scopes its creator lacks: ${beyond.join(", ")}.`);
  let expiresAt = defaultKeyExpiry(now);
  if (body.expiresAt) {
    expiresAt = Date.parse(body.expiresAt);
    if (expiresAt <= now)
      throw badRequest("expiresAt must be in the future.", "validation-failed", {
        errors: [{ path: "expiresAt", message: "must be in the future" }],
      });
    if (expiresAt - now > MAX_KEY_LIFETIME_MS)
      throw badRequest("expiresAt may be at most one year away.", "validation-failed", {
        errors: [{ path: "expiresAt", message: "at most one year away" }],
      });
  }
  // A key never outlives the credential that created it, whatever its form (a key, or a JWT,
  // which itself never outlives its key): a year-long key cannot be minted from a short-lived one.
  if (p.expiresAt !== null) expiresAt = Math.min(expiresAt, p.expiresAt);
  const db = getDb(c.env.DB);
  const key = await prepareKey({
    orgId: p.orgId,
    userId: p.userId,
    name: body.name,
    scopes,
    expiresAt,
    now,
  });
  await db.batch([
    db.insert(apiKeys).values(key.row),
    auditInsert(
      db,
      {
        orgId: p.orgId,
        actor: actorOf(p),
        action: "api_key.created",
        target: key.row.id,
        details: { name: body.name, scopes },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  const row = key.row as ApiKeyRow;
  return c.json({ ...toApiKey(row, now), key: key.secret }, 201);
});

export const list = createRoute({
  method: "get",
  path: "/",
  tags: ["API keys"],
  summary:
    "List API keys (owners and admins see the organization's, members their own); never the secret",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "Keys",
      content: { "application/json": { schema: z.object({ keys: z.array(ApiKey) }) } },
    },
    ...problems(401, 403, 429),
  },
});

apiKeyRoutes.openapi(list, async (c) => {
  const p = requireScope(c, "keys:read");
  if (!p.orgId) throw forbidden("Only a member of an organization has API keys.");
  const rows = await listKeys(getDb(c.env.DB), p.orgId, p.role === "member" ? p.userId : null);
  const now = Date.now();
  return c.json({ keys: rows.map((r) => toApiKey(r, now)) }, 200);
});

const revoke = createRoute({
  method: "delete",
  path: "/{keyId}",
  tags: ["API keys"],
  summary: "Revoke an API key: it and the tokens minted from it stop working at once",
  security: AUTHENTICATED,
  request: { params: z.object({ keyId: IdParam("keyId", "key") }) },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404, 429) },
});

apiKeyRoutes.openapi(revoke, async (c) => {
  const p = requireScope(c, "keys:write");
  const { keyId } = c.req.valid("param");
  const db = getDb(c.env.DB);
  const row = await findKeyById(db, keyId);
  // Another organization's key, or a key that does not exist: the same 404.
  if (!row || (p.role !== "operator" && row.orgId !== p.orgId)) throw notFound("The API key");
  if (p.role === "member" && row.userId !== p.userId)
    throw forbidden("Members can revoke only their own keys.");
  if (row.revokedAt === null) {
    const now = Date.now();
    await db.batch([
      revokeKeyStatement(db, row.orgId, keyId, now),
      auditInsert(
        db,
        {
          orgId: row.orgId,
          actor: actorOf(p),
          action: "api_key.revoked",
          target: keyId,
          requestId: c.get("requestId"),
        },
        now,
      ),
    ]);
  }
  await revokeCredentials(c.env, [keyId]);
  return c.body(null, 204);
});
