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
  /** A publisher the operator has verified (shown on its listings). Only an operator sets it. */
  verified: integer("verified", { mode: "boolean" }).notNull().default(false),
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

/** A plugin, app or template: a scoped name owned by the publishing organization. */
export const plugins = sqliteTable(
  "plugins",
  {
    id: text("id").primaryKey(),
    /** `@scope/name`; the scope is the publishing organization's slug. */
    name: text("name").notNull().unique(),
    orgId: text("org_id").notNull().references(() => organizations.id),
    kind: text("kind", { enum: ["plugin", "app", "template"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    // The marketplace listing, refreshed from the latest published version's manifest.
    displayName: text("display_name").notNull().default(""),
    summary: text("summary").notNull().default(""),
    description: text("description").notNull().default(""),
    category: text("category").notNull().default("other"),
    /** Space-separated, for full-text search. */
    keywords: text("keywords").notNull().default(""),
    icon: text("icon"),
    homepage: text("homepage"),
    /** The pricing object of the manifest, JSON. */
    pricing: text("pricing").notNull().default('{"model":"free"}'),
    pricingModel: text("pricing_model").notNull().default("free"),
    latestVersion: text("latest_version"),
    /** Listed in browse and search once a version is published (and the listing not suspended). */
    listed: integer("listed", { mode: "boolean" }).notNull().default(false),
    installCount: integer("install_count").notNull().default(0),
    ratingCount: integer("rating_count").notNull().default(0),
    ratingSum: integer("rating_sum").notNull().default(0),
    updatedAt: integer("updated_at").notNull().default(0),
    /** The name reduced to its visual skeleton, to refuse confusable names (`@dem0/he11o`). */
    nameSkeleton: text("name_skeleton").notNull().default(""),
    /** An operator suspended the listing: hidden from browse, no new installs. */
    suspendedAt: integer("suspended_at"),
  },
  (t) => [index("plugins_browse").on(t.listed, t.kind, t.category), index("plugins_skeleton").on(t.nameSkeleton)],
);

/** One published version; immutable once written (never overwritten, only yanked). */
export const pluginVersions = sqliteTable(
  "plugin_versions",
  {
    id: text("id").primaryKey(),
    pluginId: text("plugin_id").notNull().references(() => plugins.id),
    version: text("version").notNull(),
    /** SHA-256 (hex) of the package bytes; the R2 key is derived from it. */
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    /** The validated manifest, JSON. */
    manifest: text("manifest").notNull(),
    /** draft → in_review → published | rejected; an operator may suspend; a publisher may yank. */
    status: text("status", { enum: ["draft", "in_review", "published", "rejected", "suspended", "yanked"] }).notNull().default("published"),
    /** The package's README.md (the listing's description), if any. */
    readme: text("readme"),
    /** Why it was rejected or suspended (shown to the publisher). */
    reviewNote: text("review_note"),
    reviewedAt: integer("reviewed_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("plugin_versions_plugin_version").on(t.pluginId, t.version), index("plugin_versions_sha").on(t.sha256), index("plugin_versions_status").on(t.status, t.createdAt)],
);

/** A plugin installed into an organization's environment. */
export const installations = sqliteTable(
  "installations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull().references(() => organizations.id),
    pluginId: text("plugin_id").notNull().references(() => plugins.id),
    versionId: text("version_id").notNull().references(() => pluginVersions.id),
    environment: text("environment", { enum: ["development", "staging", "production"] }).notNull(),
    /** JSON array of granted permission strings. */
    grants: text("grants").notNull(),
    /** JSON object of non-secret settings. */
    config: text("config").notNull().default("{}"),
    /** AES-GCM encrypted JSON object of secrets (secrets:<NAME> values and writeOnly settings). */
    secretsEnc: text("secrets_enc"),
    status: text("status", { enum: ["active", "uninstalled"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("installations_one_active").on(t.orgId, t.pluginId, t.environment).where(sql`status = 'active'`),
    index("installations_org").on(t.orgId, t.status),
  ],
);

export type PluginRow = typeof plugins.$inferSelect;
export type PluginVersionRow = typeof pluginVersions.$inferSelect;
export type InstallationRow = typeof installations.$inferSelect;
export type Environment = InstallationRow["environment"];

/** One rating per user per listing (a second one updates it), with an optional review. */
export const ratings = sqliteTable(
  "ratings",
  {
    id: text("id").primaryKey(),
    pluginId: text("plugin_id").notNull().references(() => plugins.id),
    userId: text("user_id").notNull().references(() => users.id),
    orgId: text("org_id").notNull().references(() => organizations.id),
    stars: integer("stars").notNull(),
    review: text("review"),
    /** The publisher's reply (at most one). */
    reply: text("reply"),
    repliedAt: integer("replied_at"),
    /** Hidden by an operator (abusive): neither shown nor counted. */
    hidden: integer("hidden", { mode: "boolean" }).notNull().default(false),
    reportCount: integer("report_count").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("ratings_one_per_user").on(t.pluginId, t.userId), index("ratings_listing").on(t.pluginId, t.hidden, t.updatedAt)],
);

/** Who reported which review (one report per user per review). */
export const ratingReports = sqliteTable(
  "rating_reports",
  {
    ratingId: text("rating_id").notNull().references(() => ratings.id),
    userId: text("user_id").notNull().references(() => users.id),
    reason: text("reason"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.ratingId, t.userId] })],
);

export type RatingRow = typeof ratings.$inferSelect;

/** An installation's history: installed, upgraded, downgraded, reconfigured, uninstalled. */
export const installationEvents = sqliteTable(
  "installation_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    installationId: text("installation_id").notNull(),
    orgId: text("org_id").notNull(),
    action: text("action", { enum: ["installed", "upgraded", "downgraded", "reconfigured", "uninstalled"] }).notNull(),
    fromVersion: text("from_version"),
    toVersion: text("to_version"),
    /** JSON array of the grants after the change. */
    grants: text("grants"),
    actor: text("actor").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("installation_events_inst").on(t.installationId, t.id)],
);
