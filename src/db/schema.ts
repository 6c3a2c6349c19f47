/**
 * The platform's relational model (D1, through drizzle). Every table is documented in
 * src/STORAGE.md. Times are integer milliseconds since the epoch; ids are prefixed random
 * strings (`usr_…`, `org_…`, `key_…`) so that a leaked id says what it is.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Stored lower-cased; unique across the platform. */
  email: text("email").notNull().unique(),
  name: text("name").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** An organization is both a tenant (it installs) and a publisher (it publishes). */
export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  plan: text("plan", { enum: ["free", "pro", "enterprise"] }).notNull().default("free"),
  createdAt: integer("created_at").notNull(),
});

export const memberships = sqliteTable(
  "memberships",
  {
    orgId: text("org_id").notNull().references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["owner", "admin", "member"] }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.userId] }), index("memberships_user_idx").on(t.userId)],
);

/** API keys: only the SHA-256 of the key is stored; `prefix` lets a user recognise a key. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull().references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull().unique(),
    /** JSON array of scope strings. */
    scopes: text("scopes").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_org_idx").on(t.orgId, t.createdAt)],
);

/** A pending invitation to join an organization; only the token's hash is stored. */
export const invitations = sqliteTable("invitations", {
  id: text("id").primaryKey(),
  orgId: text("org_id").notNull().references(() => organizations.id, { onDelete: "cascade" }),
  userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
  tokenHash: text("token_hash").notNull().unique(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  acceptedAt: integer("accepted_at"),
});

/**
 * JWT signing keys. The private JWK is encrypted with AES-GCM under ATOLL_SECRET_KEY.
 * At most one key is `current` (partial unique index); `previous` keys still verify.
 */
export const signingKeys = sqliteTable(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    alg: text("alg").notNull(),
    publicJwk: text("public_jwk").notNull(),
    privateJwkEnc: text("private_jwk_enc").notNull(),
    status: text("status", { enum: ["current", "previous", "retired"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    demotedAt: integer("demoted_at"),
  },
  (t) => [uniqueIndex("signing_keys_one_current").on(t.status).where(sql`status = 'current'`)],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    orgId: text("org_id"),
    /** Who acted: `user:<id>`, `operator` or `system`. Never a secret. */
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    target: text("target"),
    /** JSON object with non-secret details. */
    details: text("details").notNull().default("{}"),
    requestId: text("request_id"),
  },
  (t) => [index("audit_log_org_idx").on(t.orgId, t.id)],
);

export type UserRow = typeof users.$inferSelect;
export type OrganizationRow = typeof organizations.$inferSelect;
export type MembershipRow = typeof memberships.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;
export type Plan = OrganizationRow["plan"];
export type Role = MembershipRow["role"];
