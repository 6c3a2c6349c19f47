/**
 * Roles and scopes (pure). A credential's effective scopes are the scopes it was given,
 * intersected with what the holder's role allows *now*: demoting a user narrows their keys at once.
 */
import type { Role } from "../platform/db/schema";

export const SCOPES = {
  "org:read": "Read the organization, its members and its plan",
  "org:write": "Invite, change and remove members",
  "keys:read": "List API keys",
  "keys:write": "Create and revoke API keys",
  "audit:read": "Read the organization's audit log",
  "plugins:publish": "Publish plugin packages under the organization's scope",
  "installations:read": "List and read installations",
  "installations:write": "Install, configure and uninstall plugins",
  "plugins:call": "Call installed plugins (execute and their endpoints)",
  "billing:read": "See purchases, subscriptions, revenue, balances, payouts and analytics",
  "billing:write":
    "Buy listings, cancel subscriptions, refund sales, request payouts, set payment and payout accounts",
  "integrations:read": "List connections, syncs, their runs and events",
  "integrations:write":
    "Connect and disconnect third-party services, define and run syncs, manage Zapier hooks",
  "webhooks:read": "List webhook endpoints and their delivery logs",
  "webhooks:write":
    "Register, change, delete webhook endpoints, rotate their secrets, replay deliveries",
} as const;

export type Scope = keyof typeof SCOPES;
// Frozen: the tables are shared by every request in the isolate, so no caller can widen them.
export const ALL_SCOPES = Object.freeze(Object.keys(SCOPES)) as Scope[];

export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = Object.freeze({
  owner: ALL_SCOPES,
  admin: ALL_SCOPES,
  member: Object.freeze([
    "org:read",
    "keys:read",
    "keys:write",
    "installations:read",
    "plugins:call",
  ] as const),
});

export function isScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

/**
 * The scopes a credential may use: its own, limited by the role its holder has now. A role this
 * table does not name (a bad row, a prototype key) allows nothing.
 */
export function effectiveScopes(granted: readonly string[], role: Role): Scope[] {
  const allowed = new Set<string>(Object.hasOwn(ROLE_SCOPES, role) ? ROLE_SCOPES[role] : []);
  return granted.filter((s): s is Scope => isScope(s) && allowed.has(s));
}

/** Scopes in `requested` that the caller may not hand out (used to refuse privilege escalation). */
export function scopesBeyond(requested: readonly string[], held: readonly string[]): string[] {
  const have = new Set(held);
  return requested.filter((s) => !have.has(s));
}

/**
 * Whether `actor` may give `target` role `next` (or remove them, when `next` is null). Owners
 * may do anything, admins anything not touching the owner role; any other actor (members, and a
 * role this module does not know) nothing.
 */
export function canManageMember(actor: Role, target: Role, next: Role | null): boolean {
  if (actor === "owner") return true;
  if (actor === "admin") return target !== "owner" && next !== "owner";
  return false;
}
