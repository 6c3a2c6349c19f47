/**
 * The platform's relational model (D1, through drizzle). Every table is documented in
 * src/STORAGE.md. Times are integer milliseconds since the epoch; ids are prefixed random
 * strings (`usr_…`, `org_…`, `key_…`) so that a leaked id says what it is.
 */
import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import type { Manifest } from "../../contract/manifest";
import { PROVIDERS } from "../../contract/permissions";

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
  plan: text("plan", { enum: ["free", "pro", "enterprise"] })
    .notNull()
    .default("free"),
  createdAt: integer("created_at").notNull(),
  /** A publisher the operator has verified (shown on its listings). Only an operator sets it. */
  verified: integer("verified", { mode: "boolean" }).notNull().default(false),
  /** Platform fee in basis points for this publisher's listings (null: the default, 1,000). */
  feeBps: integer("fee_bps"),
  /** Hours this publisher's earnings are held before payout (null: the default, 336 = 14 days). */
  payoutHoldHours: integer("payout_hold_hours"),
  /** Where payouts go: the provider's connected-account id (`acct_…`). */
  payoutAccount: text("payout_account"),
  /** The payment method purchases are charged to: the provider's token or id (`tok_…`, `pm_…`). */
  paymentMethod: text("payment_method"),
  /** The operator requires every version this publisher publishes to be signed. */
  requireSignatures: integer("require_signatures", { mode: "boolean" }).notNull().default(false),
});

export const memberships = sqliteTable(
  "memberships",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
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
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull().unique(),
    /** JSON array of scope strings (typed here, parsed by drizzle at the read). */
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_org_idx").on(t.orgId, t.createdAt)],
);

/**
 * An invitation to join an organization, addressed to an e-mail address with a role. Only the
 * token's hash is stored; the token is mailed to the invitee. The membership (and the user, for
 * a new address) is created when the invitee accepts.
 */
export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    /** Lower-cased, like users.email. */
    email: text("email").notNull(),
    role: text("role", { enum: ["owner", "admin", "member"] }).notNull(),
    /** The inviter's audit actor (`user:…`, `operator`). */
    invitedBy: text("invited_by"),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    acceptedAt: integer("accepted_at"),
    /** The user who accepted. */
    acceptedBy: text("accepted_by"),
  },
  (t) => [index("invitations_org_email_idx").on(t.orgId, t.email)],
);

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
  (t) => [
    uniqueIndex("signing_keys_one_current")
      .on(t.status)
      .where(sql`status = 'current'`),
  ],
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
    details: text("details", { mode: "json" })
      .$type<Record<string, unknown>>()
      .notNull()
      .default({}),
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
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
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
    /** How a suspension acts: "hide" (browse and new installs only) or "stop" (also running installs). */
    suspensionMode: text("suspension_mode", { enum: ["hide", "stop"] }),
    /** Platform fee in basis points for this listing (null: the publisher's, else the default). */
    feeBps: integer("fee_bps"),
    /** Hours a sale's earnings are held before they can be paid out (null: the publisher's, else the default). */
    payoutHoldHours: integer("payout_hold_hours"),
    /** The display name reduced to its visual skeleton, to refuse borrowed display names. */
    displaySkeleton: text("display_skeleton").notNull().default(""),
  },
  (t) => [
    index("plugins_browse").on(t.listed, t.kind, t.category),
    index("plugins_skeleton").on(t.nameSkeleton),
    index("plugins_display_skeleton").on(t.displaySkeleton),
  ],
);

/** One published version; immutable once written (never overwritten, only yanked). */
export const pluginVersions = sqliteTable(
  "plugin_versions",
  {
    id: text("id").primaryKey(),
    pluginId: text("plugin_id")
      .notNull()
      .references(() => plugins.id),
    version: text("version").notNull(),
    /** SHA-256 (hex) of the package bytes; the R2 key is derived from it. */
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    /** The validated manifest, JSON. */
    manifest: text("manifest", { mode: "json" }).$type<Manifest>().notNull(),
    /**
     * draft → in_review → published | rejected; an operator may suspend; a publisher may yank;
     * the operator or the publisher may revoke (the kill switch: running installs stop too).
     */
    status: text("status", {
      enum: ["draft", "in_review", "published", "rejected", "suspended", "yanked", "revoked"],
    })
      .notNull()
      .default("published"),
    /** The package's README.md (the listing's description), if any. */
    readme: text("readme"),
    /** Why it was rejected or suspended (shown to the publisher). */
    reviewNote: text("review_note"),
    reviewedAt: integer("reviewed_at"),
    createdAt: integer("created_at").notNull(),
    /** The DSSE envelope (JSON) the version was published with, if it was signed. */
    provenance: text("provenance"),
    /** The publisher key whose signature verified at publish. */
    signerKeyId: text("signer_key_id").references(() => publisherKeys.id),
    /** The source digest and CLI version the publisher's signed statement names. */
    sourceDigest: text("source_digest"),
    cliVersion: text("cli_version"),
    /** When the kill switch revoked it. */
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    uniqueIndex("plugin_versions_plugin_version").on(t.pluginId, t.version),
    index("plugin_versions_sha").on(t.sha256),
    index("plugin_versions_status").on(t.status, t.createdAt),
  ],
);

/** An Ed25519 public key a publisher signs its packages with (registered by an owner). */
export const publisherKeys = sqliteTable(
  "publisher_keys",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
    name: text("name").notNull(),
    /** The raw 32-byte key, base64url. */
    publicKey: text("public_key").notNull(),
    /** `SHA256:` + base64 of the raw key's SHA-256 (the DSSE keyid). */
    fingerprint: text("fingerprint").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedBy: text("revoked_by"),
  },
  (t) => [uniqueIndex("publisher_keys_org_fingerprint").on(t.orgId, t.fingerprint)],
);

export type PublisherKeyRow = typeof publisherKeys.$inferSelect;

/** What a tenant is told on its dashboard (a version it runs was revoked, …). */
export const orgNotices = sqliteTable(
  "org_notices",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
    kind: text("kind").notNull(),
    target: text("target"),
    message: text("message").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("org_notices_org").on(t.orgId, t.createdAt)],
);

/** A plugin installed into an organization's environment. */
export const installations = sqliteTable(
  "installations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
    pluginId: text("plugin_id")
      .notNull()
      .references(() => plugins.id),
    versionId: text("version_id")
      .notNull()
      .references(() => pluginVersions.id),
    environment: text("environment", { enum: ["development", "staging", "production"] }).notNull(),
    /** JSON array of granted permission strings. */
    grants: text("grants", { mode: "json" }).$type<string[]>().notNull(),
    /** JSON object of non-secret settings. */
    config: text("config", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    /** AES-GCM encrypted JSON object of secrets (secrets:<NAME> values and writeOnly settings). */
    secretsEnc: text("secrets_enc"),
    status: text("status", { enum: ["active", "uninstalled"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("installations_one_active")
      .on(t.orgId, t.pluginId, t.environment)
      .where(sql`status = 'active'`),
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
    pluginId: text("plugin_id")
      .notNull()
      .references(() => plugins.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
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
  (t) => [
    uniqueIndex("ratings_one_per_user").on(t.pluginId, t.userId),
    index("ratings_listing").on(t.pluginId, t.hidden, t.updatedAt),
  ],
);

/** Who reported which review (one report per user per review). */
export const ratingReports = sqliteTable(
  "rating_reports",
  {
    ratingId: text("rating_id")
      .notNull()
      .references(() => ratings.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
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
    action: text("action", {
      enum: ["installed", "upgraded", "downgraded", "reconfigured", "uninstalled"],
    }).notNull(),
    fromVersion: text("from_version"),
    toVersion: text("to_version"),
    /** JSON array of the grants after the change. */
    grants: text("grants", { mode: "json" }).$type<string[]>(),
    actor: text("actor").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("installation_events_inst").on(t.installationId, t.id)],
);

/** Platform-wide settings an operator changes at run time (e.g. the payment processor). */
export const platformSettings = sqliteTable("platform_settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Ledger accounts, one per kind, owner and currency (see src/revenue/ledger.ts). */
export const ledgerAccounts = sqliteTable("ledger_accounts", {
  id: text("id").primaryKey(),
  kind: text("kind", {
    enum: [
      "buyer_clearing",
      "platform_revenue",
      "refunds",
      "developer_payable",
      "payouts_in_transit",
      "refund_losses",
    ],
  }).notNull(),
  orgId: text("org_id"),
  currency: text("currency").notNull(),
  createdAt: integer("created_at").notNull(),
});

/**
 * A journal transaction. Append-only: triggers refuse UPDATE and DELETE, and refuse the insert
 * of a transaction whose entries (inserted first, in the same batch) do not sum to zero.
 */
export const ledgerTransactions = sqliteTable(
  "ledger_transactions",
  {
    id: text("id").primaryKey(),
    kind: text("kind", {
      enum: ["purchase", "renewal", "usage", "refund", "payout", "payout_settled", "payout_failed"],
    }).notNull(),
    currency: text("currency").notNull(),
    /** The purchase, refund or payout it records. */
    reference: text("reference").notNull(),
    memo: text("memo").notNull(),
    createdAt: integer("created_at").notNull(),
    /** When a sale's earnings become payable (null: at once); a refund of a held sale shares its sale's. */
    availableAt: integer("available_at"),
  },
  (t) => [
    index("ledger_transactions_reference").on(t.reference),
    index("ledger_transactions_created").on(t.createdAt),
  ],
);

/** One side of a transaction: signed minor units, debit > 0, credit < 0. Append-only. */
export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    txnId: text("txn_id").notNull(),
    accountId: text("account_id").notNull(),
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("ledger_entries_account").on(t.accountId, t.id),
    index("ledger_entries_txn").on(t.txnId),
  ],
);

/** A monthly, yearly or usage-billed subscription to a listing. */
export const subscriptions = sqliteTable(
  "subscriptions",
  {
    id: text("id").primaryKey(),
    buyerOrgId: text("buyer_org_id")
      .notNull()
      .references(() => organizations.id),
    pluginId: text("plugin_id")
      .notNull()
      .references(() => plugins.id),
    publisherOrgId: text("publisher_org_id")
      .notNull()
      .references(() => organizations.id),
    billing: text("billing", { enum: ["month", "year", "usage"] }).notNull(),
    /** Price per period, or per `per` calls for usage billing; minor units. */
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    per: integer("per"),
    feeBps: integer("fee_bps").notNull(),
    /** active → past_due (a renewal failed; retried) → canceled (unpaid) | ended (cancelled at period end). */
    status: text("status", { enum: ["active", "past_due", "canceled", "ended"] }).notNull(),
    /** The number of the current period (1 = the first, paid at purchase). */
    period: integer("period").notNull().default(1),
    currentPeriodStart: integer("current_period_start").notNull(),
    currentPeriodEnd: integer("current_period_end").notNull(),
    cancelAtPeriodEnd: integer("cancel_at_period_end", { mode: "boolean" })
      .notNull()
      .default(false),
    failedAttempts: integer("failed_attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at"),
    lastError: text("last_error"),
    /** Usage billing: calls and amount billed so far, and the hour billed through. */
    usageCalls: integer("usage_calls").notNull().default(0),
    usageBilled: integer("usage_billed").notNull().default(0),
    usageThrough: integer("usage_through"),
    createdAt: integer("created_at").notNull(),
    endedAt: integer("ended_at"),
  },
  (t) => [
    uniqueIndex("subscriptions_one_live")
      .on(t.buyerOrgId, t.pluginId)
      .where(sql`status IN ('active', 'past_due')`),
    index("subscriptions_due").on(t.status, t.currentPeriodEnd),
    index("subscriptions_publisher").on(t.publisherOrgId, t.createdAt),
  ],
);

/** A charge: a one-time purchase, a subscription period or a usage bill. */
export const purchases = sqliteTable(
  "purchases",
  {
    id: text("id").primaryKey(),
    buyerOrgId: text("buyer_org_id")
      .notNull()
      .references(() => organizations.id),
    pluginId: text("plugin_id")
      .notNull()
      .references(() => plugins.id),
    publisherOrgId: text("publisher_org_id")
      .notNull()
      .references(() => organizations.id),
    kind: text("kind", { enum: ["one_time", "subscription", "usage"] }).notNull(),
    subscriptionId: text("subscription_id"),
    /** Subscription period number, or for usage the hour billed through. */
    period: integer("period"),
    amount: integer("amount").notNull(),
    currency: text("currency").notNull(),
    feeBps: integer("fee_bps").notNull(),
    fee: integer("fee").notNull(),
    share: integer("share").notNull(),
    refundedAmount: integer("refunded_amount").notNull().default(0),
    refundedFee: integer("refunded_fee").notNull().default(0),
    status: text("status", { enum: ["succeeded", "partially_refunded", "refunded"] }).notNull(),
    providerChargeId: text("provider_charge_id").unique(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("purchases_subscription_period").on(t.subscriptionId, t.period),
    index("purchases_buyer").on(t.buyerOrgId, t.createdAt),
    index("purchases_publisher").on(t.publisherOrgId, t.createdAt),
    index("purchases_created").on(t.createdAt),
    check(
      "purchases_amounts",
      sql`amount >= 0 AND fee >= 0 AND share >= 0 AND fee + share = amount AND refunded_amount >= 0 AND refunded_amount <= amount AND refunded_fee <= fee`,
    ),
  ],
);

/** A (partial) refund; `seq` numbers a purchase's refunds so two concurrent ones cannot both land. */
export const refunds = sqliteTable(
  "refunds",
  {
    id: text("id").primaryKey(),
    purchaseId: text("purchase_id")
      .notNull()
      .references(() => purchases.id),
    seq: integer("seq").notNull(),
    amount: integer("amount").notNull(),
    fee: integer("fee").notNull(),
    share: integer("share").notNull(),
    /** The part of `share` the developer's balance could not cover, booked to refund_losses (forced refunds only). */
    loss: integer("loss").notNull().default(0),
    currency: text("currency").notNull(),
    /** pending: claimed, sent to the provider, outcome not yet recorded; succeeded: in the ledger. */
    status: text("status", { enum: ["pending", "succeeded"] }).notNull(),
    /** The idempotency key the provider got, so any later request can finish a pending refund. */
    providerKey: text("provider_key").notNull(),
    providerRefundId: text("provider_refund_id"),
    reason: text("reason"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("refunds_purchase_seq").on(t.purchaseId, t.seq),
    index("refunds_created").on(t.createdAt),
  ],
);

/** A payout of a developer's payable balance in one currency. */
export const payouts = sqliteTable(
  "payouts",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
    currency: text("currency").notNull(),
    amount: integer("amount").notNull(),
    /** in_transit → paid | failed (the money returns to the payable). */
    status: text("status", { enum: ["in_transit", "paid", "failed"] }).notNull(),
    destination: text("destination").notNull(),
    providerTransferId: text("provider_transfer_id"),
    failureReason: text("failure_reason"),
    runId: text("run_id"),
    createdAt: integer("created_at").notNull(),
    settledAt: integer("settled_at"),
  },
  (t) => [index("payouts_org").on(t.orgId, t.createdAt), index("payouts_status").on(t.status)],
);

/** Never holds a row: the target of the guard statement that rolls back a batch leaving a balance short (ledger-store.ts). */
export const ledgerGuard = sqliteTable("ledger_guard", { refused: text("refused").notNull() });

/**
 * Which payout covers which transaction on a developer's payable account: the payout's
 * statement. The primary key makes it impossible for two payouts to cover one transaction.
 */
export const payoutItems = sqliteTable(
  "payout_items",
  {
    txnId: text("txn_id").notNull(),
    accountId: text("account_id").notNull(),
    payoutId: text("payout_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.txnId, t.accountId] }),
    index("payout_items_payout").on(t.payoutId),
  ],
);

/**
 * Idempotency keys of money-moving requests (Stripe's semantics): the first request with a key
 * stores its response; the same key and body replay it; the same key with another body is 422.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    /** Who sent it: an organization id, or `operator`. */
    owner: text("owner").notNull(),
    key: text("key").notNull(),
    /** `POST /v1/purchases`: a key is bound to one endpoint. */
    endpoint: text("endpoint").notNull(),
    /** SHA-256 of the canonical request body. */
    requestHash: text("request_hash").notNull(),
    status: text("status", { enum: ["in_progress", "done"] }).notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    lockedAt: integer("locked_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.owner, t.key] }),
    index("idempotency_keys_created").on(t.createdAt),
  ],
);

/** Payment-provider events already processed (webhook deliveries arrive more than once). */
export const providerEvents = sqliteTable("provider_events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  receivedAt: integer("received_at").notNull(),
});

/** Plugin calls per installation, rolled up per hour and per day by the gateway's meter. */
export const usageRollups = sqliteTable(
  "usage_rollups",
  {
    installationId: text("installation_id").notNull(),
    orgId: text("org_id").notNull(),
    pluginId: text("plugin_id").notNull(),
    granularity: text("granularity", { enum: ["hour", "day"] }).notNull(),
    /** Start of the hour or UTC day, epoch ms. */
    bucket: integer("bucket").notNull(),
    calls: integer("calls").notNull().default(0),
    clientErrors: integer("client_errors").notNull().default(0),
    serverErrors: integer("server_errors").notNull().default(0),
    latencyMsSum: integer("latency_ms_sum").notNull().default(0),
    latencyMsMax: integer("latency_ms_max").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.installationId, t.granularity, t.bucket] }),
    index("usage_rollups_plugin").on(t.pluginId, t.granularity, t.bucket),
    index("usage_rollups_org").on(t.orgId, t.granularity, t.bucket),
  ],
);

export type PurchaseRow = typeof purchases.$inferSelect;
export type SubscriptionRow = typeof subscriptions.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
export type PayoutRow = typeof payouts.$inferSelect;

/** A tenant's connection to a third-party service. Credentials are sealed (AES-GCM, key id kept). */
export const connections = sqliteTable(
  "connections",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
    provider: text("provider", { enum: PROVIDERS }).notNull(),
    environment: text("environment", { enum: ["development", "staging", "production"] }).notNull(),
    name: text("name").notNull(),
    baseUrl: text("base_url").notNull(),
    /** active; error (the last refresh failed: reported, retried on use); revoked. */
    status: text("status", { enum: ["active", "error", "revoked"] }).notNull(),
    credentialsEnc: text("credentials_enc").notNull(),
    /** The current grant (access token, expiry, instance URL), sealed. */
    grantEnc: text("grant_enc"),
    keyId: text("key_id").notNull(),
    grantExpiresAt: integer("grant_expires_at"),
    lastError: text("last_error"),
    refreshedAt: integer("refreshed_at"),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    /** Set when the connection misbehaved as a sync source (paged without progress); see sync.ts. */
    flagReason: text("flag_reason"),
    flaggedAt: integer("flagged_at"),
  },
  (t) => [index("connections_org").on(t.orgId, t.provider, t.environment, t.status)],
);

/** Which subscriber (an installation or a Zapier hook) already received an event: retries skip them. */
export const eventDeliveries = sqliteTable(
  "event_deliveries",
  {
    eventId: text("event_id").notNull(),
    target: text("target").notNull(),
    deliveredAt: integer("delivered_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.target] })],
);

/** Events from providers (and the platform) an organization can subscribe to: plugins, Zapier hooks, polling. */
export const integrationEvents = sqliteTable(
  "integration_events",
  {
    /** Derived from the connection and the provider's delivery id: a redelivery is the same row. */
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    environment: text("environment").notNull(),
    connectionId: text("connection_id"),
    topic: text("topic").notNull(),
    /** JSON. */
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("integration_events_org_topic").on(t.orgId, t.topic, t.createdAt)],
);

/** Zapier REST-hook subscriptions (Zapier subscribes and unsubscribes them with an API key). */
export const zapierHooks = sqliteTable(
  "zapier_hooks",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
    topic: text("topic").notNull(),
    hookUrl: text("hook_url").notNull(),
    createdAt: integer("created_at").notNull(),
    removedAt: integer("removed_at"),
  },
  (t) => [index("zapier_hooks_org_topic").on(t.orgId, t.topic)],
);

/** A data sync between two connections. */
export const syncs = sqliteTable(
  "syncs",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
    sourceId: text("source_id").notNull(),
    targetId: text("target_id").notNull(),
    object: text("object").notNull(),
    /** JSON: the validated mapping (integrations/mapping.ts MappingRule[]). */
    mapping: text("mapping", { mode: "json" }).$type<unknown[]>().notNull(),
    intervalSeconds: integer("interval_seconds").notNull(),
    status: text("status", { enum: ["active", "paused"] }).notNull(),
    /** Why the sync is paused (a user, or a deleted connection); null while active. */
    pausedReason: text("paused_reason"),
    /** Where the next run resumes (the source's modification cursor). */
    cursor: text("cursor"),
    nextRunAt: integer("next_run_at").notNull(),
    /** The run that holds the sync (one at a time). */
    runningRunId: text("running_run_id"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("syncs_due").on(t.status, t.nextRunAt)],
);

export const syncRuns = sqliteTable(
  "sync_runs",
  {
    id: text("id").primaryKey(),
    syncId: text("sync_id").notNull(),
    trigger: text("trigger", { enum: ["schedule", "manual"] }).notNull(),
    status: text("status", { enum: ["running", "succeeded", "failed", "partial"] }).notNull(),
    fetched: integer("fetched").notNull().default(0),
    created: integer("created").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    unchanged: integer("unchanged").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    deadLettered: integer("dead_lettered").notNull().default(0),
    /** Pages done: a resumed run continues from the sync's cursor. */
    pages: integer("pages").notNull().default(0),
    /** Consecutive pages that brought nothing new but asked for more (a misbehaving source). */
    emptyPages: integer("empty_pages").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    error: text("error"),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("sync_runs_sync").on(t.syncId, t.startedAt)],
);

/** The external-id map: which target record a source record became, and what was last written. */
export const syncLinks = sqliteTable(
  "sync_links",
  {
    syncId: text("sync_id").notNull(),
    sourceRecordId: text("source_record_id").notNull(),
    targetRecordId: text("target_record_id").notNull(),
    /** SHA-256 of the mapped fields last written: an unchanged record is not written again. */
    hash: text("hash").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.syncId, t.sourceRecordId] })],
);

/** Records that failed to sync: retried with backoff, dead-lettered after MAX attempts. */
export const syncFailures = sqliteTable(
  "sync_failures",
  {
    syncId: text("sync_id").notNull(),
    sourceRecordId: text("source_record_id").notNull(),
    /** JSON: the source record, to retry without refetching. */
    record: text("record").notNull(),
    attempts: integer("attempts").notNull(),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    error: text("error").notNull(),
    /** Dead-lettered: no more automatic retries. */
    dead: integer("dead", { mode: "boolean" }).notNull().default(false),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.syncId, t.sourceRecordId] }),
    index("sync_failures_due").on(t.syncId, t.dead, t.nextAttemptAt),
  ],
);

export type ConnectionRow = typeof connections.$inferSelect;
export type SyncRow = typeof syncs.$inferSelect;
export type SyncRunRow = typeof syncRuns.$inferSelect;

/** Developer-portal tutorials (the sketch's `create_tutorial`), written by operators. */
export const tutorials = sqliteTable(
  "tutorials",
  {
    slug: text("slug").primaryKey(),
    title: text("title").notNull(),
    difficulty: text("difficulty", { enum: ["beginner", "intermediate", "advanced"] }).notNull(),
    position: integer("position").notNull(),
    /** JSON array of tags. */
    tags: text("tags").notNull(),
    summary: text("summary").notNull(),
    markdown: text("markdown").notNull(),
    /** Rendered when written (markdown-it, raw HTML escaped, unsafe links refused). */
    html: text("html").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("tutorials_order").on(t.position)],
);

export type TutorialRow = typeof tutorials.$inferSelect;

/**
 * Web UI sessions: the cookie holds a random id, only its SHA-256 is stored; the API key the user
 * signed in with is sealed (AES-GCM, bound to the session). `csrf` is the session's form token.
 */
export const webSessions = sqliteTable(
  "web_sessions",
  {
    idHash: text("id_hash").primaryKey(),
    keyEnc: text("key_enc").notNull(),
    csrf: text("csrf").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("web_sessions_expiry").on(t.expiresAt)],
);

/**
 * Plugins' console output and uncaught exceptions, per installation, redacted before they are
 * written (runtime/logs.ts). Bounded: the newest LOGS_KEPT per installation, none older than
 * LOGS_MAX_AGE_MS (runtime/log-store.ts); deleted with the installation's uninstall.
 */
export const installationLogs = sqliteTable(
  "installation_logs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    installationId: text("installation_id").notNull(),
    at: integer("at").notNull(),
    level: text("level", {
      enum: ["debug", "log", "info", "warn", "error", "exception"],
    }).notNull(),
    message: text("message").notNull(),
    stack: text("stack"),
  },
  (t) => [index("installation_logs_by_installation").on(t.installationId, t.id)],
);

/**
 * The platform's own lifecycle events (src/events/): `org_ids` (JSON) is the audience — the
 * organizations whose plugins and webhook endpoints receive it; `environment` narrows plugin
 * delivery to installations in it. `dispatched_at` is set once the event is on the queue (the
 * minutely cron re-queues one left behind).
 */
export const platformEvents = sqliteTable(
  "platform_events",
  {
    id: text("id").primaryKey(),
    topic: text("topic").notNull(),
    orgIds: text("org_ids", { mode: "json" }).$type<string[]>().notNull(),
    environment: text("environment"),
    /** JSON. */
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
    dispatchedAt: integer("dispatched_at"),
  },
  (t) => [index("platform_events_undispatched").on(t.dispatchedAt, t.createdAt)],
);

/** Which installation already took a platform event (a retried fan-out skips it); `status`: the plugin's answer. */
export const platformEventPluginDeliveries = sqliteTable(
  "platform_event_plugin_deliveries",
  {
    eventId: text("event_id")
      .notNull()
      .references(() => platformEvents.id, { onDelete: "cascade" }),
    installationId: text("installation_id").notNull(),
    status: integer("status").notNull(),
    deliveredAt: integer("delivered_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.installationId] })],
);

/** An organization's outbound webhook endpoint: a URL, the topics it takes, its sealed signing secret. */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id),
    url: text("url").notNull(),
    topics: text("topics", { mode: "json" }).$type<string[]>().notNull(),
    description: text("description").notNull().default(""),
    /** AES-GCM under ATOLL_SECRET_KEY, bound to `webhook-endpoint:<id>:secret`. */
    secretEnc: text("secret_enc").notNull(),
    /** The secret before the last rotation, still signing until `previous_expires_at`. */
    previousSecretEnc: text("previous_secret_enc"),
    previousExpiresAt: integer("previous_expires_at"),
    status: text("status", { enum: ["enabled", "disabled"] })
      .notNull()
      .default("enabled"),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    disabledReason: text("disabled_reason"),
    disabledAt: integer("disabled_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("webhook_endpoints_org").on(t.orgId, t.status),
    check("webhook_endpoints_status", sql`${t.status} IN ('enabled', 'disabled')`),
  ],
);

/** The delivery log: one row per (endpoint, event), plus one per replay. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: text("event_id")
      .notNull()
      .references(() => platformEvents.id),
    topic: text("topic").notNull(),
    status: text("status", { enum: ["pending", "succeeded", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at"),
    /** The receiver's HTTP status of the last attempt (null: no answer). */
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    replayOf: text("replay_of"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_once")
      .on(t.endpointId, t.eventId)
      .where(sql`"webhook_deliveries"."replay_of" IS NULL`),
    index("webhook_deliveries_by_endpoint").on(t.endpointId, t.createdAt),
    check("webhook_deliveries_status", sql`${t.status} IN ('pending', 'succeeded', 'failed')`),
  ],
);

export type PlatformEventRow = typeof platformEvents.$inferSelect;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
