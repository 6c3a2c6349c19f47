/** Wire schemas of the identity domain. Rows are mapped to these; a new column never leaks. */
import { z } from "@hono/zod-openapi";
import type { OrganizationRow, UserRow } from "../platform/db/schema";
import { iso } from "../platform/http/schemas";
import { ALL_SCOPES } from "./scopes";

export const RESERVED_SLUGS: readonly string[] = ["example"];
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,37}[a-z0-9])$/;

export const RoleSchema = z.enum(["owner", "admin", "member"]).openapi("Role");
export const PlanSchema = z.enum(["free", "pro", "enterprise"]).openapi("Plan");
export const ScopeSchema = z.enum(ALL_SCOPES as [string, ...string[]]).openapi("Scope");

export const Email = z.string().trim().toLowerCase().max(254).email("must be an email address");
export const DisplayName = z.string().trim().min(1, "must not be empty").max(100);
export const Slug = z
  .string()
  .regex(
    SLUG_PATTERN,
    "must be 3–39 lower-case letters, digits or dashes, not starting or ending with a dash",
  )
  // The API document's examples name @example/…: no organization may own that scope, so an
  // example run by a "try it" tool or a fuzzer can never act on anyone's objects.
  .refine((slug) => !RESERVED_SLUGS.includes(slug), "is reserved");

export const User = z
  .object({ id: z.string(), email: z.string(), name: z.string(), createdAt: z.string().datetime() })
  .openapi("User");
export const Organization = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    plan: PlanSchema,
    verified: z.boolean().openapi({ description: "A publisher verified by the platform operator" }),
    createdAt: z.string().datetime(),
  })
  .openapi("Organization");
export const Member = z
  .object({ user: User, role: RoleSchema, joinedAt: z.string().datetime() })
  .openapi("Member");

export const SignupRequest = z
  .object({
    email: Email,
    name: DisplayName,
    organization: z
      .union([DisplayName, z.object({ name: DisplayName, slug: Slug.optional() }).strict()])
      .openapi({
        description: "The new organization: its name, or { name, slug }",
        example: { name: "Acme", slug: "acme" },
      }),
  })
  .strict()
  .openapi("SignupRequest", {
    example: { email: "ada@acme.test", name: "Ada", organization: { name: "Acme", slug: "acme" } },
  });

export const Credentials = z
  .object({
    user: User,
    organization: Organization,
    role: RoleSchema,
    apiKey: z
      .string()
      .openapi({ description: "The full API key. Shown only in this response.", example: "atk_…" }),
    apiKeyId: z
      .string()
      .openapi({ description: "The key's id; also the OAuth client_id for /oauth/token" }),
  })
  .openapi("Credentials");

export const Me = z
  .object({
    method: z.enum(["api_key", "access_token", "operator_key", "external_token"]),
    subject: z.string(),
    user: User.nullable(),
    organization: Organization.nullable(),
    role: z.enum(["owner", "admin", "member", "operator"]),
    scopes: z.array(z.string()),
    plan: z.string(),
    keyId: z.string().nullable(),
    expiresAt: z.string().datetime().nullable(),
  })
  .openapi("Me");

export const AddMemberRequest = z
  .object({ email: Email, role: RoleSchema.default("member") })
  .strict()
  .openapi("AddMemberRequest", { example: { email: "grace@acme.test", role: "admin" } });

export const Invitation = z
  .object({
    id: z.string(),
    email: z.string().openapi({ description: "Where the invitation was mailed" }),
    role: RoleSchema,
    expiresAt: z.string().datetime(),
  })
  .openapi("Invitation");

export const AddMemberResponse = z
  .object({
    invitation: Invitation.openapi({
      description:
        "The invitation, mailed to the address with a single-use token. The token is never shown to the inviter, and the answer is the same whether or not the address already has an account.",
    }),
  })
  .openapi("AddMemberResponse");

export const ChangeRoleRequest = z
  .object({ role: RoleSchema })
  .strict()
  .openapi("ChangeRoleRequest");
export const AcceptInvitationRequest = z
  .object({
    token: z
      .string()
      .min(1)
      .max(200)
      .openapi({ description: "The token from the invitation e-mail" }),
    name: DisplayName.optional().openapi({
      description:
        "Your name, for a new account (defaults to the address's local part); ignored for an existing one",
    }),
  })
  .strict()
  .openapi("AcceptInvitationRequest", { example: { token: "ati_…", name: "Grace" } });

export const AuditEntry = z
  .object({
    id: z.number().int(),
    at: z.string().datetime(),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string().nullable(),
  })
  .openapi("AuditEntry");

export const toUser = (u: Pick<UserRow, "id" | "email" | "name" | "createdAt">) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  createdAt: iso(u.createdAt),
});
export const toOrganization = (
  o: Pick<OrganizationRow, "id" | "slug" | "name" | "plan" | "createdAt"> & { verified?: boolean },
) => ({
  id: o.id,
  slug: o.slug,
  name: o.name,
  plan: o.plan,
  verified: o.verified ?? false,
  createdAt: iso(o.createdAt),
});

/** Derives a slug from an organization name ("Acme Corp." → "acme-corp"). */
export function slugify(name: string): string {
  return name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 39)
    .replace(/-+$/g, "");
}
