/**
 * Plugin permissions (pure). A permission is a capability string declared in the manifest, shown
 * to the tenant admin and granted at install; the runtime makes nothing else reachable.
 *
 *   network:<host>          outbound fetch to exactly that host (https, default port)
 *   storage                 a key-value store scoped to the installation
 *   secrets:<NAME>          the installation's secret of that name
 *   events:<topic>          receive platform events of that topic
 *   integrations:<provider> call a connected third-party service through the platform
 *   payments                the payment capability (may serve as the platform's processor)
 */
import type { Result } from "./result";

/** The third-party providers Atoll connects to: the one list (permissions, connectors, the API's Provider enum). */
export const PROVIDERS = ["salesforce", "hubspot", "slack", "generic-crm"] as const;
export type ProviderId = (typeof PROVIDERS)[number];

export type Permission =
  | { kind: "network"; host: string }
  | { kind: "storage" }
  | { kind: "secrets"; name: string }
  | { kind: "events"; topic: string }
  | { kind: "integrations"; provider: ProviderId }
  | { kind: "payments" };

export type PermissionProblem = { permission: string; reason: string };

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const TOPIC = /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*){0,4}$/;

/** Parses one permission string; the reason says what is wrong in words a publisher understands. */
export function parsePermission(value: string): Result<{ permission: Permission }> {
  const i = value.indexOf(":");
  const kind = i < 0 ? value : value.slice(0, i);
  const arg = i < 0 ? null : value.slice(i + 1);
  switch (kind) {
    case "storage":
    case "payments":
      return arg === null
        ? { ok: true, permission: { kind } }
        : { ok: false, reason: `"${kind}" takes no argument` };
    case "network": {
      if (!arg) return { ok: false, reason: "network needs a host, as network:api.example.com" };
      const host = hostProblem(arg);
      return host ? { ok: false, reason: host } : { ok: true, permission: { kind, host: arg } };
    }
    case "secrets":
      return arg && SECRET_NAME.test(arg)
        ? { ok: true, permission: { kind, name: arg } }
        : {
            ok: false,
            reason:
              "secret names are upper-case letters, digits and _, starting with a letter (secrets:API_KEY)",
          };
    case "events":
      return arg && TOPIC.test(arg)
        ? { ok: true, permission: { kind, topic: arg } }
        : {
            ok: false,
            reason: "event topics are dotted lower-case names (events:installation.created)",
          };
    case "integrations": {
      const provider = PROVIDERS.find((p) => p === arg);
      return provider
        ? { ok: true, permission: { kind, provider } }
        : { ok: false, reason: `unknown provider; one of ${PROVIDERS.join(", ")}` };
    }
    default:
      return {
        ok: false,
        reason: `unknown permission "${kind}"; known: network, storage, secrets, events, integrations, payments`,
      };
  }
}

/**
 * Why a host may not be granted (null when it may): wildcards, IP literals, ports, loopback and
 * private names, single-label names. The platform policy is the same for every publisher for now.
 */
export function hostProblem(host: string): string | null {
  if (host.includes("*")) return "wildcard hosts are not allowed; list each host";
  if (host.length > 253) return "host is too long";
  if (host !== host.toLowerCase()) return "hosts are lower-case";
  if (host.includes(":") || host.startsWith("[")) return "hosts carry no port and no IPv6 literal";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^\d+$/.test(host) || /^0x/i.test(host))
    return "IP addresses are not allowed; use a host name";
  const labels = host.split(".");
  if (labels.length < 2) return "single-label hosts are not allowed";
  if (!labels.every((l) => HOST_LABEL.test(l))) return "not a valid host name";
  const tld = labels.at(-1) ?? "";
  if (
    [
      "localhost",
      "local",
      "internal",
      "lan",
      "home",
      "intranet",
      "corp",
      "arpa",
      "test",
      "invalid",
      "example",
    ].includes(tld)
  ) {
    return `".${tld}" names are private or reserved`;
  }
  if (/^\d+$/.test(tld)) return "IP addresses are not allowed; use a host name";
  return null;
}

/** Checks every declared permission; returns the problems (empty when all are allowed). */
export function checkPermissions(values: readonly string[]): PermissionProblem[] {
  const problems: PermissionProblem[] = [];
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) problems.push({ permission: value, reason: "declared twice" });
    seen.add(value);
    const parsed = parsePermission(value);
    if (!parsed.ok) problems.push({ permission: value, reason: parsed.reason });
  }
  return problems;
}

/** Compares what an install grants with what the manifest declares. */
export function compareGrants(
  declared: readonly string[],
  granted: readonly string[],
): { missing: string[]; undeclared: string[] } {
  const d = new Set(declared);
  const g = new Set(granted);
  return {
    missing: declared.filter((p) => !g.has(p)),
    undeclared: granted.filter((p) => !d.has(p)),
  };
}

export function parseAll(values: readonly string[]): Permission[] {
  return values.flatMap((v) => {
    const p = parsePermission(v);
    return p.ok ? [p.permission] : [];
  });
}

/** What a permission allows, in words for the tenant admin. */
export function describePermission(value: string): string {
  const p = parsePermission(value);
  if (!p.ok) return value;
  switch (p.permission.kind) {
    case "network":
      return `may call ${p.permission.host}`;
    case "storage":
      return "may keep data for this installation";
    case "secrets":
      return `may read the secret ${p.permission.name}`;
    case "events":
      return `receives ${p.permission.topic} events`;
    case "integrations":
      return `may call your connected ${p.permission.provider} account through Atoll`;
    case "payments":
      return "may act as the platform's payment processor: charges, refunds and payouts for purchases";
  }
}
