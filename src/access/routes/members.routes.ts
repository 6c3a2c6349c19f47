/** Organizations: members and their roles, invitations, and the audit log. */
import { type Batch, getDb, isUniqueViolation } from "../../platform/db/client";
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, isNull, sql } from "drizzle-orm";
import { actorOf, auditInsert, listAudit } from "../audit";
import { isolateState } from "../credential-cache";
import { requireOrg, type Principal } from "../principal";
import { defaultKeyExpiry, prepareKey, revokeUserKeysStatement } from "../api-keys";
import { revokeCredentials } from "../revoke";
import { createRouter } from "../../platform/http/router";
import { newId, randomBase62 } from "../../platform/crypto/encoding";
import { sha256Hex } from "../../platform/crypto/hash";
import { apiKeys, invitations, memberships, users, type Role } from "../../platform/db/schema";
import { jsonBody } from "../../platform/http/middleware";
import { conflict, forbidden, notFound, unauthorized } from "../../platform/http/problem";
import { sendMail } from "../../platform/mail";
import { AUTHENTICATED, IdParam, problems, iso } from "../../platform/http/schemas";
import {
  acceptInvitationStatement,
  countOwners,
  findOpenInvitation,
  findUserByEmail,
  getMembership,
  getOrganization,
  getUser,
  listMembers,
  removeMemberStatement,
  setRoleStatement,
  voidOpenInvitationsStatement,
} from "../queries";
import {
  AcceptInvitationRequest,
  AddMemberRequest,
  AddMemberResponse,
  AuditEntry,
  ChangeRoleRequest,
  Credentials,
  Member,
  Organization,
  toOrganization,
  toUser,
} from "../schemas";
import { ROLE_SCOPES, canManageMember } from "../scopes";
import { optionalCredentialRoute } from "../authenticate";

const INVITATION_TTL_MS = 7 * 24 * 3600_000;

export const memberRoutes = createRouter();

// --- organizations and members --------------------------------------------------------------
const OrgParams = z.object({ orgId: IdParam("orgId", "org") });
const MemberParams = OrgParams.extend({ userId: IdParam("userId", "usr") });

const getOrg = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}",
  tags: ["Organizations"],
  summary: "An organization the caller belongs to",
  security: AUTHENTICATED,
  request: { params: OrgParams },
  responses: {
    200: {
      description: "The organization",
      content: { "application/json": { schema: Organization } },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

memberRoutes.openapi(getOrg, async (c) => {
  const { orgId } = c.req.valid("param");
  requireOrg(c, orgId, "org:read");
  const org = await getOrganization(getDb(c.env.DB), orgId);
  if (!org) throw notFound("The organization");
  return c.json(toOrganization(org), 200);
});

const listMembersRoute = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}/members",
  tags: ["Organizations"],
  summary: "Members of the organization and their roles",
  security: AUTHENTICATED,
  request: { params: OrgParams },
  responses: {
    200: {
      description: "Members",
      content: { "application/json": { schema: z.object({ members: z.array(Member) }) } },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

memberRoutes.openapi(listMembersRoute, async (c) => {
  const { orgId } = c.req.valid("param");
  requireOrg(c, orgId, "org:read");
  const rows = await listMembers(getDb(c.env.DB), orgId);
  return c.json(
    {
      members: rows.map((r) => ({ user: toUser(r.user), role: r.role, joinedAt: iso(r.joinedAt) })),
    },
    200,
  );
});

const addMember = createRoute({
  method: "post",
  path: "/v1/organizations/{orgId}/members",
  tags: ["Organizations"],
  summary: "Invite someone by e-mail: the single-use token is mailed to them, never returned",
  description:
    "The invitee accepts at POST /v1/invitations/accept with the mailed token (and, if the address already has an account, authenticated as that account). The membership exists only from then. The answer is the same whether or not the address has an account; a new invitation to the same address replaces an open one.",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: OrgParams,
    body: { required: true, content: { "application/json": { schema: AddMemberRequest } } },
  },
  responses: {
    201: {
      description: "Invited (the mail is sent)",
      content: { "application/json": { schema: AddMemberResponse } },
    },
    ...problems(400, 401, 403, 404, 409, 413, 415, 429, 503),
  },
});

memberRoutes.openapi(addMember, async (c) => {
  const { orgId } = c.req.valid("param");
  const body = c.req.valid("json");
  const p = requireOrg(c, orgId, "org:write");
  assertCanManage(p, null, body.role);
  const db = getDb(c.env.DB);
  const now = Date.now();
  const org = await getOrganization(db, orgId);
  if (!org) throw notFound("The organization");
  // Whether the address is already one of *this* organization's members is the inviter's own
  // data (they can list members); whether it has an account elsewhere is never revealed.
  const existing = await findUserByEmail(db, body.email);
  if (existing && (await getMembership(db, orgId, existing.id)))
    throw conflict(`${body.email} is already a member.`, "already-member");
  const token = `ati_${randomBase62(40)}`;
  const invitation = {
    id: newId("inv"),
    orgId,
    email: body.email,
    role: body.role,
    invitedBy: actorOf(p),
    tokenHash: await sha256Hex(token),
    createdAt: now,
    expiresAt: now + INVITATION_TTL_MS,
  };
  await db.batch([
    voidOpenInvitationsStatement(db, orgId, body.email),
    db.insert(invitations).values(invitation),
    auditInsert(
      db,
      {
        orgId,
        actor: actorOf(p),
        action: "member.invited",
        target: invitation.id,
        details: { email: body.email, role: body.role },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  try {
    await sendMail(c.env, invitationMail(c.env, org, invitation, token));
  } catch (err) {
    // Unsent, the token reaches nobody: the invitation is withdrawn rather than left dangling.
    await db.delete(invitations).where(eq(invitations.id, invitation.id));
    throw err;
  }
  return c.json(
    {
      invitation: {
        id: invitation.id,
        email: invitation.email,
        role: invitation.role,
        expiresAt: iso(invitation.expiresAt),
      },
    },
    201,
  );
});

function invitationMail(
  env: Env,
  org: { name: string; slug: string },
  inv: { email: string; role: Role; expiresAt: number },
  token: string,
) {
  const accept = new URL("/v1/invitations/accept", env.ATOLL_ISSUER).toString();
  return {
    to: inv.email,
    // The organization's name is a tenant's text: no control character reaches a mail header.
    subject: `Invitation to join ${org.name.replace(/[\u0000-\u001f\u007f]+/g, " ")} on Atoll`,
    text: [
      `You are invited to join the organization "${org.name}" (@${org.slug}) on Atoll as ${inv.role}.`,
      "",
      `Your invitation token (single use, valid until ${iso(inv.expiresAt)}):`,
      "",
      `    ${token}`,
      "",
      "To accept, create your account and first API key with it:",
      "",
      `    curl -X POST ${accept} -H 'content-type: application/json' -d '{"token":"${token}","name":"Your Name"}'`,
      "",
      "If you already have an Atoll account with this address, accept as that account: add",
      `-H "X-API-Key: <one of your API keys>" to the command above.`,
      "",
      "If you did not expect this invitation, ignore it: nothing happens unless you accept.",
    ].join("\n"),
  };
}

const changeRole = createRoute({
  method: "patch",
  path: "/v1/organizations/{orgId}/members/{userId}",
  tags: ["Organizations"],
  summary: "Change a member's role",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: MemberParams,
    body: { required: true, content: { "application/json": { schema: ChangeRoleRequest } } },
  },
  responses: {
    200: { description: "Updated", content: { "application/json": { schema: Member } } },
    ...problems(400, 401, 403, 404, 409, 413, 415, 429),
  },
});

memberRoutes.openapi(changeRole, async (c) => {
  const { orgId, userId } = c.req.valid("param");
  const { role } = c.req.valid("json");
  const p = requireOrg(c, orgId, "org:write");
  const db = getDb(c.env.DB);
  const membership = await getMembership(db, orgId, userId);
  if (!membership) throw notFound("The member");
  assertCanManage(p, membership.role, role);
  if (membership.role === "owner" && role !== "owner" && (await countOwners(db, orgId)) <= 1) {
    throw conflict(
      "An organization needs at least one owner; promote another member first.",
      "last-owner",
    );
  }
  await db.batch([
    setRoleStatement(db, orgId, userId, role),
    auditInsert(db, {
      orgId,
      actor: actorOf(p),
      action: "member.role_changed",
      target: userId,
      details: { from: membership.role, to: role },
      requestId: c.get("requestId"),
    }),
  ]);
  isolateState(c.env).forgetUser(orgId, userId);
  const user = await getUser(db, userId);
  if (!user) throw notFound("The member");
  return c.json({ user: toUser(user), role, joinedAt: iso(membership.createdAt) }, 200);
});

const removeMember = createRoute({
  method: "delete",
  path: "/v1/organizations/{orgId}/members/{userId}",
  tags: ["Organizations"],
  summary: "Remove a member; their API keys in this organization are revoked",
  security: AUTHENTICATED,
  request: { params: MemberParams },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404, 409, 429) },
});

memberRoutes.openapi(removeMember, async (c) => {
  const { orgId, userId } = c.req.valid("param");
  const p = requireOrg(c, orgId, "org:write");
  const db = getDb(c.env.DB);
  const membership = await getMembership(db, orgId, userId);
  if (!membership) throw notFound("The member");
  assertCanManage(p, membership.role, null);
  if (membership.role === "owner" && (await countOwners(db, orgId)) <= 1) {
    throw conflict("The last owner cannot be removed.", "last-owner");
  }
  const now = Date.now();
  const [, revoked] = await db.batch([
    removeMemberStatement(db, orgId, userId),
    revokeUserKeysStatement(db, orgId, userId, now),
    auditInsert(
      db,
      {
        orgId,
        actor: actorOf(p),
        action: "member.removed",
        target: userId,
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  isolateState(c.env).forgetUser(orgId, userId);
  await revokeCredentials(
    c.env,
    revoked.map((r) => r.id),
  );
  return c.body(null, 204);
});

/** Whether the invitation's inviter (still a member, with a role that may grant its role) still vouches for it. */
async function inviterMayStillGrant(
  db: ReturnType<typeof getDb>,
  inv: { orgId: string; role: Role; invitedBy: string | null },
): Promise<boolean> {
  if (inv.invitedBy === "operator") return true;
  const userId = /^user:(usr_[0-9A-Za-z]+)$/.exec(inv.invitedBy ?? "")?.[1];
  if (!userId) return false;
  const m = await getMembership(db, inv.orgId, userId);
  return m !== null && canManageMember(m.role, "member", inv.role);
}

function assertCanManage(p: Principal, target: Role | null, next: Role | null): void {
  if (p.role === "operator") return;
  if (!canManageMember(p.role, target ?? "member", next)) {
    throw forbidden(
      p.role === "member"
        ? "Only owners and admins manage members."
        : "Only an owner can grant, change or remove the owner role.",
    );
  }
}

// --- invitations ---------------------------------------------------------------------------
const acceptInvitation = createRoute(
  optionalCredentialRoute({
    method: "post",
    path: "/v1/invitations/accept",
    tags: ["Organizations"],
    summary:
      "Accept an invitation with the mailed token: join with the invited role and get an API key",
    description:
      "The token reaches only the invitee's mailbox. For an address without an account, the token alone creates the account. For an address that already has one, the caller must also authenticate as that account (X-API-Key or Bearer); anyone else is refused.",
    middleware: [...jsonBody],
    request: {
      body: {
        required: true,
        content: { "application/json": { schema: AcceptInvitationRequest } },
      },
    },
    responses: {
      201: {
        description: "Accepted; the API key is shown only here",
        content: { "application/json": { schema: Credentials } },
      },
      ...problems(400, 401, 403, 404, 409, 413, 415, 429),
    },
  }),
);

memberRoutes.openapi(acceptInvitation, async (c) => {
  const { token, name } = c.req.valid("json");
  const p = c.get("principal");
  const db = getDb(c.env.DB);
  const now = Date.now();
  const invitation = await findOpenInvitation(db, await sha256Hex(token), now);
  if (!invitation) throw notFound("The invitation (or it was used or expired)");
  const [existing, org] = await Promise.all([
    findUserByEmail(db, invitation.email),
    getOrganization(db, invitation.orgId),
  ]);
  if (!org) throw notFound("The invitation (or it was used or expired)");
  // The role is granted by the inviter as they are *now*: an invitation outlives no demotion.
  if (!(await inviterMayStillGrant(db, invitation)))
    throw notFound("The invitation (or it was used or expired)");
  if (existing) {
    if (!p)
      throw unauthorized(
        `${invitation.email} already has an account: accept as that account (send one of its API keys).`,
        "account-required",
      );
    if (p.userId !== existing.id)
      throw forbidden("This invitation is addressed to another account.");
  } else if (p) {
    throw forbidden("This invitation is addressed to another e-mail address.");
  }
  const user = existing ?? {
    id: newId("usr"),
    email: invitation.email,
    name: name ?? invitation.email.split("@")[0] ?? invitation.email,
    createdAt: now,
  };
  const role = invitation.role;
  const key = await prepareKey({
    orgId: org.id,
    userId: user.id,
    name: "default",
    scopes: [...ROLE_SCOPES[role]],
    expiresAt: defaultKeyExpiry(now),
    now,
  });
  // One token yields one membership and one key. D1 runs a batch as one transaction and
  // serialises writers: the membership and the key are inserted only while the invitation is
  // still open, then it is closed. A concurrent second acceptance finds it closed (its inserts
  // select nothing and its update returns no row) or fails on the new user's unique e-mail.
  const k = key.row;
  const open = and(eq(invitations.id, invitation.id), isNull(invitations.acceptedAt));
  const statements: Batch = [
    db.insert(memberships).select(
      db
        .select({
          orgId: sql<string>`${org.id}`.as("org_id"),
          userId: sql<string>`${user.id}`.as("user_id"),
          role: sql<Role>`${role}`.as("role"),
          createdAt: sql<number>`${now}`.as("created_at"),
        })
        .from(invitations)
        .where(open),
    ),
    db.insert(apiKeys).select(
      db
        .select({
          id: sql<string>`${k.id}`.as("id"),
          orgId: sql<string>`${k.orgId}`.as("org_id"),
          userId: sql<string>`${k.userId}`.as("user_id"),
          name: sql<string>`${k.name}`.as("name"),
          prefix: sql<string>`${k.prefix}`.as("prefix"),
          hash: sql<string>`${k.hash}`.as("hash"),
          scopes: sql<string>`${JSON.stringify(k.scopes)}`.as("scopes"),
          createdAt: sql<number>`${k.createdAt}`.as("created_at"),
          expiresAt: sql<number | null>`${k.expiresAt ?? null}`.as("expires_at"),
          revokedAt: sql<number | null>`NULL`.as("revoked_at"),
        })
        .from(invitations)
        .where(open),
    ),
    acceptInvitationStatement(db, invitation.id, user.id, now),
    auditInsert(
      db,
      {
        orgId: org.id,
        actor: `user:${user.id}`,
        action: "invitation.accepted",
        target: invitation.id,
        details: { role },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ];
  if (!existing) statements.unshift(db.insert(users).values(user));
  let results: unknown[];
  try {
    results = await db.batch(statements);
  } catch (err) {
    if (isUniqueViolation(err, "memberships.org_id"))
      throw conflict("You are already a member of this organization.", "already-member");
    if (isUniqueViolation(err)) throw notFound("The invitation (or it was used or expired)");
    throw err;
  }
  const accepted = results[existing ? 2 : 3] as { id: string }[];
  if (accepted.length === 0) throw notFound("The invitation (or it was used or expired)");
  isolateState(c.env).forgetUser(org.id, user.id);
  return c.json(
    {
      user: toUser(user),
      organization: toOrganization(org),
      role,
      apiKey: key.secret,
      apiKeyId: k.id as string,
    },
    201,
  );
});

// --- audit log -----------------------------------------------------------------------------
const auditRoute = createRoute({
  method: "get",
  path: "/v1/organizations/{orgId}/audit-log",
  tags: ["Organizations"],
  summary: "The organization's audit log, newest first",
  security: AUTHENTICATED,
  request: {
    params: OrgParams,
    query: z
      .object({
        limit: z.coerce.number().int().min(1).max(200).default(50),
        cursor: z.coerce.number().int().positive().optional(),
      })
      .strict(),
  },
  responses: {
    200: {
      description: "Entries",
      content: {
        "application/json": {
          schema: z.object({ entries: z.array(AuditEntry), nextCursor: z.string().nullable() }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

memberRoutes.openapi(auditRoute, async (c) => {
  const { orgId } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  requireOrg(c, orgId, "audit:read");
  const rows = await listAudit(getDb(c.env.DB), orgId, limit, cursor);
  const entries = rows.map((r) => ({
    id: r.id,
    at: iso(r.at),
    actor: r.actor,
    action: r.action,
    target: r.target,
    details: r.details,
    requestId: r.requestId,
  }));
  const last = rows.at(-1);
  return c.json(
    { entries, nextCursor: rows.length === limit && last ? String(last.id) : null },
    200,
  );
});
