/** Sign-up and the caller (`/v1/me`). Members and invitations: ./members.ts. */
import { createRoute } from "@hono/zod-openapi";
import { auditInsert } from "../audit";
import { isolateState } from "../credential-cache";
import { requirePrincipal } from "../principal";
import { defaultKeyExpiry, prepareKey } from "../api-keys";
import { createRouter } from "../../platform/http/router";
import { newId } from "../../platform/crypto/encoding";
import { getDb, isUniqueViolation } from "../../platform/db/client";
import { apiKeys, memberships, organizations, users } from "../../platform/db/schema";
import { jsonBody } from "../../platform/http/middleware";
import { badRequest, conflict } from "../../platform/http/problem";
import { AUTHENTICATED, problems, iso } from "../../platform/http/schemas";
import { getOrganization, getUser } from "../queries";
import { Credentials, Me, SignupRequest, Slug, slugify, toOrganization, toUser } from "../schemas";
import { ROLE_SCOPES } from "../scopes";
import { publicRoute } from "../authenticate";

export const identityRoutes = createRouter();

// --- sign-up -------------------------------------------------------------------------------
export const signup = createRoute(
  publicRoute({
    method: "post",
    path: "/v1/signup",
    tags: ["Identity"],
    summary: "Create a user, their organization and its first API key",
    middleware: [...jsonBody],
    request: {
      body: { required: true, content: { "application/json": { schema: SignupRequest } } },
    },
    responses: {
      201: {
        description: "Created; the API key is shown only here",
        content: { "application/json": { schema: Credentials } },
      },
      ...problems(400, 409, 413, 415, 429),
    },
  }),
);

identityRoutes.openapi(signup, async (c) => {
  const body = c.req.valid("json");
  const orgName =
    typeof body.organization === "string" ? body.organization : body.organization.name;
  const slug =
    typeof body.organization === "string" || !body.organization.slug
      ? slugify(orgName)
      : body.organization.slug;
  if (!Slug.safeParse(slug).success) {
    throw badRequest(
      `Cannot derive a valid slug from "${orgName}"; pass organization.slug (3–39 of a-z, 0-9, -).`,
      "validation-failed",
      { errors: [{ path: "organization.slug", message: "invalid slug" }] },
    );
  }
  const db = getDb(c.env.DB);
  const now = Date.now();
  const user = { id: newId("usr"), email: body.email, name: body.name, createdAt: now };
  const org = { id: newId("org"), slug, name: orgName, plan: "free" as const, createdAt: now };
  const key = await prepareKey({
    orgId: org.id,
    userId: user.id,
    name: "default",
    scopes: [...ROLE_SCOPES.owner],
    expiresAt: defaultKeyExpiry(now),
    now,
  });
  try {
    await db.batch([
      db.insert(users).values(user),
      db.insert(organizations).values(org),
      db
        .insert(memberships)
        .values({ orgId: org.id, userId: user.id, role: "owner", createdAt: now }),
      db.insert(apiKeys).values(key.row),
      auditInsert(
        db,
        {
          orgId: org.id,
          actor: `user:${user.id}`,
          action: "organization.created",
          target: org.id,
          details: { slug },
          requestId: c.get("requestId"),
        },
        now,
      ),
    ]);
  } catch (err) {
    if (isUniqueViolation(err, "users.email"))
      throw conflict(`A user with email ${body.email} already exists.`, "email-taken");
    if (isUniqueViolation(err, "organizations.slug"))
      throw conflict(`The organization slug "${slug}" is taken.`, "slug-taken");
    throw err;
  }
  return c.json(
    {
      user: toUser(user),
      organization: toOrganization(org),
      role: "owner" as const,
      apiKey: key.secret,
      apiKeyId: key.row.id,
    },
    201,
  );
});

// --- the caller ----------------------------------------------------------------------------
const me = createRoute({
  method: "get",
  path: "/v1/me",
  tags: ["Identity"],
  summary: "Who is calling: user, organization, role, scopes and how they authenticated",
  security: AUTHENTICATED,
  responses: {
    200: { description: "The caller", content: { "application/json": { schema: Me } } },
    ...problems(401, 429),
  },
});

identityRoutes.openapi(me, async (c) => {
  const p = requirePrincipal(c);
  const state = isolateState(c.env);
  const db = getDb(c.env.DB);
  const [user, org] = await Promise.all([
    p.userId ? state.cached(`user:${p.userId}`, () => getUser(db, p.userId as string)) : null,
    p.orgId ? state.cached(`org:${p.orgId}`, () => getOrganization(db, p.orgId as string)) : null,
  ]);
  return c.json(
    {
      method: p.method,
      subject: p.subject,
      user: user ? toUser(user) : null,
      organization: org ? toOrganization(org) : null,
      role: p.role,
      scopes: p.scopes,
      plan: p.plan,
      keyId: p.keyId,
      expiresAt: p.expiresAt === null ? null : iso(p.expiresAt),
    },
    200,
  );
});
