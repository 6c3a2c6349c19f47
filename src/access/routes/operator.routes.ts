/** The platform operator's controls (bootstrapped by the ATOLL_OPERATOR_KEY secret). */
import { createRoute, z } from "@hono/zod-openapi";
import { actorOf, auditInsert } from "../audit";
import { requireOperator } from "../principal";
import { isolateState } from "../credential-cache";
import { rotateSigningKey } from "../tokens/signing-keys";
import { createRouter } from "../../platform/http/router";
import { eq } from "drizzle-orm";
import { organizations } from "../../platform/db/schema";
import { getDb } from "../../platform/db/client";
import { conflict, notFound } from "../../platform/http/problem";
import { AUTHENTICATED, IdParam, problems } from "../../platform/http/schemas";
import { jsonBody } from "../../platform/http/middleware";
import { setPlanStatement } from "../queries";
import { Organization, PlanSchema, toOrganization } from "../schemas";

/** The platform operator's account routes, mounted under /v1/operator with the other domains' (src/app.ts). */
export const accessOperatorRoutes = createRouter();

const setPlan = createRoute({
  method: "put",
  path: "/organizations/{orgId}/plan",
  tags: ["Operator"],
  summary: "Set an organization's plan (and with it, its rate limits)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: z.object({ orgId: IdParam("orgId", "org") }),
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ plan: PlanSchema }).strict() } },
    },
  },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: Organization } } },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

accessOperatorRoutes.openapi(setPlan, async (c) => {
  const p = requireOperator(c);
  const { orgId } = c.req.valid("param");
  const { plan } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const [updated] = await db.batch([
    setPlanStatement(db, orgId, plan),
    auditInsert(db, {
      orgId,
      actor: actorOf(p),
      action: "organization.plan_changed",
      target: orgId,
      details: { plan },
      requestId: c.get("requestId"),
    }),
  ]);
  const org = updated[0];
  if (!org) throw notFound("The organization");
  isolateState(c.env).forgetOrg(orgId);
  return c.json(toOrganization(org), 200);
});

const rotate = createRoute({
  method: "post",
  path: "/signing-keys/rotate",
  tags: ["Operator"],
  summary: "Rotate the JWT signing key; the previous key keeps verifying until its tokens expire",
  security: AUTHENTICATED,
  request: { query: z.object({ force: z.enum(["true", "false"]).optional() }).strict() },
  responses: {
    200: {
      description: "Rotated",
      content: {
        "application/json": {
          schema: z.object({ kid: z.string(), previous: z.string().nullable() }),
        },
      },
    },
    ...problems(400, 401, 403, 409, 429),
  },
});

accessOperatorRoutes.openapi(rotate, async (c) => {
  const p = requireOperator(c);
  const db = getDb(c.env.DB);
  const result = await rotateSigningKey(db, c.env.ATOLL_SECRET_KEY, {
    force: c.req.valid("query").force === "true",
  });
  if (!result.ok) {
    const err = conflict(
      `The previous key may still have live tokens; rotate again in ${result.retryAfterSec} s (or pass force=true to cut them off).`,
      "rotation-too-soon",
    );
    err.extraHeaders["retry-after"] = String(result.retryAfterSec);
    throw err;
  }
  await db.batch([
    auditInsert(db, {
      orgId: null,
      actor: actorOf(p),
      action: "signing_key.rotated",
      target: result.kid,
      details: { previous: result.previous },
      requestId: c.get("requestId"),
    }),
  ]);
  isolateState(c.env).forgetSigningKeys();
  return c.json({ kid: result.kid, previous: result.previous }, 200);
});

const verify = createRoute({
  method: "put",
  path: "/organizations/{orgId}/verified",
  tags: ["Operator"],
  summary: "Mark a publisher verified (or not); shown on its listings",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: z.object({ orgId: IdParam("orgId", "org") }),
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ verified: z.boolean() }).strict() } },
    },
  },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: Organization } } },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

accessOperatorRoutes.openapi(verify, async (c) => {
  const p = requireOperator(c);
  const { orgId } = c.req.valid("param");
  const { verified } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const [updated] = await db.batch([
    db.update(organizations).set({ verified }).where(eq(organizations.id, orgId)).returning(),
    auditInsert(db, {
      orgId,
      actor: actorOf(p),
      action: verified ? "organization.verified" : "organization.unverified",
      target: orgId,
      requestId: c.get("requestId"),
    }),
  ]);
  const org = updated[0];
  if (!org) throw notFound("The organization");
  isolateState(c.env).forgetOrg(orgId);
  return c.json(toOrganization(org), 200);
});
