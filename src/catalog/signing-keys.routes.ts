/**
 * Publisher signing keys: an organization's owners add, list and revoke the Ed25519 public keys
 * its packages are signed with (the private key never leaves the developer's machine); the
 * operator requires signatures per publisher or per plan. Every change is audit logged.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { actorOf, auditInsert, auditInsertIfPreviousChanged } from "../access/audit";
import { requireOperator, requireOrg, type Principal } from "../access/principal";
import { createRouter } from "../platform/http/router";
import { getDb, isUniqueViolation } from "../platform/db/client";
import { newId, toBase64Url } from "../platform/crypto/encoding";
import {
  organizations,
  platformSettings,
  publisherKeys,
  type PublisherKeyRow,
} from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { badRequest, conflict, forbidden, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, problems, iso } from "../platform/http/schemas";
import { keyFingerprint, parsePublicKeyPem } from "../contract/provenance";
import {
  SIGNATURE_PLANS_SETTING,
  findPublisherKey,
  listPublisherKeys,
  MAX_PUBLISHER_KEYS,
  revokeKeyStatement,
  signaturePlans,
} from "./signing";

export const signingKeyRoutes = createRouter();
/** Its operator routes, mounted under /v1/operator (src/app.ts). */
export const signingOperatorRoutes = createRouter();

const OrgParams = z.object({ orgId: IdParam("orgId", "org") });

const PublisherKey = z
  .object({
    id: z.string(),
    name: z.string(),
    fingerprint: z
      .string()
      .openapi({ example: "SHA256:3mJr0V7n6n0B2yq4mQ5mBq9kq7H5y6B5mO0m3d1jv1E" }),
    createdAt: z.string().datetime(),
    revokedAt: z.string().datetime().nullable(),
  })
  .openapi("PublisherKey");

const toKey = (k: PublisherKeyRow) => ({
  id: k.id,
  name: k.name,
  fingerprint: k.fingerprint,
  createdAt: iso(k.createdAt),
  revokedAt: k.revokedAt === null ? null : iso(k.revokedAt),
});

/** Only an owner of the organization manages its keys (not admins, not the operator). */
function requireOwner(p: Principal): void {
  if (p.role !== "owner")
    throw forbidden("Only an owner of the organization manages its signing keys.");
}

const AddKey = z
  .object({
    name: z.string().trim().min(1).max(100).openapi({ example: "release laptop" }),
    publicKey: z
      .string()
      .max(1000)
      .openapi({ description: "The Ed25519 public key, PEM (-----BEGIN PUBLIC KEY-----)" }),
  })
  .strict()
  .openapi("AddPublisherKey");

const addKey = createRoute({
  method: "post",
  path: "/v1/organizations/{orgId}/signing-keys",
  tags: ["Organizations"],
  summary: "Register an Ed25519 public key packages are signed with (owners only)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: OrgParams,
    body: { required: true, content: { "application/json": { schema: AddKey } } },
  },
  responses: {
    201: { description: "Registered", content: { "application/json": { schema: PublisherKey } } },
    ...problems(400, 401, 403, 404, 409, 413, 415, 429),
  },
});

signingKeyRoutes.openapi(addKey, async (c) => {
  const { orgId } = c.req.valid("param");
  const p = requireOrg(c, orgId, "org:write");
  requireOwner(p);
  const { name, publicKey } = c.req.valid("json");
  const parsed = parsePublicKeyPem(publicKey);
  if (!parsed.ok) throw badRequest(parsed.detail, "invalid-public-key");
  const db = getDb(c.env.DB);
  // A key beyond the list publish checks would register and never verify.
  if ((await listPublisherKeys(db, orgId)).length >= MAX_PUBLISHER_KEYS)
    throw conflict(
      `An organization registers at most ${MAX_PUBLISHER_KEYS} signing keys (revoked ones included).`,
      "key-limit",
    );
  const now = Date.now();
  const row: PublisherKeyRow = {
    id: newId("pbk"),
    orgId,
    name,
    publicKey: toBase64Url(parsed.raw),
    fingerprint: await keyFingerprint(parsed.raw),
    createdBy: actorOf(p),
    createdAt: now,
    revokedAt: null,
    revokedBy: null,
  };
  try {
    await db.batch([
      db.insert(publisherKeys).values(row),
      auditInsert(
        db,
        {
          orgId,
          actor: actorOf(p),
          action: "signing_key.added",
          target: row.id,
          details: { name, fingerprint: row.fingerprint },
          requestId: c.get("requestId"),
        },
        now,
      ),
    ]);
  } catch (e) {
    if (isUniqueViolation(e))
      throw conflict(`The key ${row.fingerprint} is already registered.`, "key-exists");
    throw e;
  }
  return c.json(toKey(row), 201);
});

const listKeys = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}/signing-keys",
  tags: ["Organizations"],
  summary: "The organization's signing keys, revoked ones included",
  security: AUTHENTICATED,
  request: { params: OrgParams },
  responses: {
    200: {
      description: "Keys",
      content: { "application/json": { schema: z.object({ keys: z.array(PublisherKey) }) } },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

signingKeyRoutes.openapi(listKeys, async (c) => {
  const { orgId } = c.req.valid("param");
  requireOrg(c, orgId, "org:read");
  const keys = await listPublisherKeys(getDb(c.env.DB), orgId);
  return c.json({ keys: keys.map(toKey) }, 200);
});

const revokeKey = createRoute({
  method: "delete",
  path: "/v1/organizations/{orgId}/signing-keys/{keyId}",
  tags: ["Organizations"],
  summary:
    "Revoke a signing key: it signs nothing more; versions signed only by it are flagged (owners only)",
  security: AUTHENTICATED,
  request: { params: OrgParams.extend({ keyId: IdParam("keyId", "pbk") }) },
  responses: {
    200: { description: "Revoked", content: { "application/json": { schema: PublisherKey } } },
    ...problems(400, 401, 403, 404, 409, 429),
  },
});

signingKeyRoutes.openapi(revokeKey, async (c) => {
  const { orgId, keyId } = c.req.valid("param");
  const p = requireOrg(c, orgId, "org:write");
  requireOwner(p);
  const db = getDb(c.env.DB);
  const key = await findPublisherKey(db, orgId, keyId);
  if (!key) throw notFound("The signing key");
  if (key.revokedAt !== null) throw conflict("The signing key is already revoked.", "key-revoked");
  const now = Date.now();
  await db.batch([
    revokeKeyStatement(db, keyId, actorOf(p), now),
    auditInsert(
      db,
      {
        orgId,
        actor: actorOf(p),
        action: "signing_key.revoked",
        target: keyId,
        details: { fingerprint: key.fingerprint },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  return c.json(toKey({ ...key, revokedAt: now, revokedBy: actorOf(p) }), 200);
});

// --- the operator's requirement -------------------------------------------------------------

const RequirementBody = z
  .object({ required: z.boolean() })
  .strict()
  .openapi("SignatureRequirement");

const requirePublisher = createRoute({
  method: "put",
  path: "/organizations/{orgId}/signature-requirement",
  tags: ["Operator"],
  summary: "Require (or stop requiring) this publisher to sign every package it publishes",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: OrgParams,
    body: { required: true, content: { "application/json": { schema: RequirementBody } } },
  },
  responses: {
    200: {
      description: "The publisher's requirement",
      content: {
        "application/json": {
          schema: z.object({ orgId: z.string(), required: z.boolean() }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

signingOperatorRoutes.openapi(requirePublisher, async (c) => {
  const p = requireOperator(c);
  const { orgId } = c.req.valid("param");
  const { required } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const [updated] = await db.batch([
    db
      .update(organizations)
      .set({ requireSignatures: required })
      .where(eq(organizations.id, orgId))
      .returning({ id: organizations.id }),
    // Follows the update: an organization that does not exist gets no entry.
    auditInsertIfPreviousChanged(db, {
      orgId,
      actor: actorOf(p),
      action: required ? "signatures.required" : "signatures.not_required",
      target: orgId,
      requestId: c.get("requestId"),
    }),
  ]);
  if (!updated[0]) throw notFound("The organization");
  return c.json({ orgId, required }, 200);
});

const Plans = z
  .object({ plans: z.array(z.enum(["free", "pro", "enterprise"])).max(3) })
  .strict()
  .openapi("SignaturePlans");

const requirePlans = createRoute({
  method: "put",
  path: "/signature-requirement",
  tags: ["Operator"],
  summary: "The plans whose publishers must sign every package (replaces the list)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: { body: { required: true, content: { "application/json": { schema: Plans } } } },
  responses: {
    200: { description: "The plans", content: { "application/json": { schema: Plans } } },
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

signingOperatorRoutes.openapi(requirePlans, async (c) => {
  const p = requireOperator(c);
  const plans = [...new Set(c.req.valid("json").plans)];
  const db = getDb(c.env.DB);
  const now = Date.now();
  const value = JSON.stringify(plans);
  await db.batch([
    db
      .insert(platformSettings)
      .values({ key: SIGNATURE_PLANS_SETTING, value, updatedAt: now })
      .onConflictDoUpdate({ target: platformSettings.key, set: { value, updatedAt: now } }),
    auditInsert(db, {
      orgId: null,
      actor: actorOf(p),
      action: "signatures.plans_set",
      details: { plans },
      requestId: c.get("requestId"),
    }),
  ]);
  return c.json({ plans: (await signaturePlans(db)) as ("free" | "pro" | "enterprise")[] }, 200);
});
