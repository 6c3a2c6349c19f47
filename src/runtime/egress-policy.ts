/**
 * Outbound policy for plugin isolates (pure). A plugin may fetch exactly the hosts its granted
 * `network:` permissions name, over https on the default port; nothing else — no other host, no IP
 * literal, no loopback or private name, no credentials in the URL. Redirects are re-checked hop by
 * hop by the egress gates.
 *
 * The gates never send a plugin's URL on as it is: `egressTarget` builds the URL that is actually
 * fetched from a fixed origin chosen by the platform for the exact granted host (`https://<host>`,
 * or a local stand-in's origin from ATOLL_EGRESS_OVERRIDES) and copies only the path and query onto
 * it, as fields. No path form (`//host`, `/\host`, encoded slashes) can change where it goes.
 */
export type EgressDecision = { ok: true } | { ok: false; reason: string };

export function checkEgress(url: URL, grantedHosts: readonly string[]): EgressDecision {
  if (url.protocol !== "https:") return { ok: false, reason: `only https is allowed (got ${url.protocol})` };
  if (url.username || url.password) return { ok: false, reason: "credentials in URLs are not allowed" };
  if (url.port !== "") return { ok: false, reason: "only the default port is allowed" };
  const host = url.hostname.toLowerCase();
  if (host.startsWith("[") || /^\d+(\.\d+){3}$/.test(host)) return { ok: false, reason: `IP addresses are not reachable (${host})` };
  if (!grantedHosts.includes(host)) return { ok: false, reason: `${host} is not granted (network:${host})` };
  return { ok: true };
}

export type EgressTarget = { ok: true; target: URL } | { ok: false; reason: string };

/**
 * The URL an egress gate fetches for a plugin's `url`: checked against the grants, then rebuilt on
 * the granted host's fixed origin (or its override). The result's origin is always one the
 * platform chose; the plugin controls only the path and the query string.
 */
export function egressTarget(url: URL, grantedHosts: readonly string[], overrides: Readonly<Record<string, string>> = {}): EgressTarget {
  const decision = checkEgress(url, grantedHosts);
  if (!decision.ok) return decision;
  const host = url.hostname.toLowerCase();
  const origin = Object.hasOwn(overrides, host) ? overrides[host] : `https://${host}`;
  let target: URL;
  try {
    target = new URL(origin ?? `https://${host}`);
  } catch {
    return { ok: false, reason: `no usable origin is configured for ${host}` };
  }
  target.pathname = "/";
  target.search = "";
  target.hash = "";
  // Set as fields: a pathname starting with "//" stays a path on this origin.
  target.pathname = url.pathname;
  target.search = url.search;
  if (target.origin !== new URL(origin ?? `https://${host}`).origin) return { ok: false, reason: "the request's path would leave the granted origin" };
  return { ok: true, target };
}

/** Parses ATOLL_EGRESS_OVERRIDES: JSON `{ "api.example.com": "http://127.0.0.1:9000" }` (local stand-ins). */
export function parseOverrides(value: string | undefined): Record<string, string> {
  if (!value) return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    if (!parsed || typeof parsed !== "object") return {};
    return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"));
  } catch {
    return {};
  }
}

/**
 * Subrequest budgets per isolate: each call the host starts adds the plugin's per-call cap; every
 * outbound fetch spends one; when the isolate has no call in flight the budget is reset. With one
 * call at a time this is exactly the per-call cap; with concurrent calls of one installation they
 * share the sum of their caps. Production enforces the cap in the dispatch namespace itself.
 */
export class SubrequestBudgets {
  private readonly budgets = new Map<string, { inflight: number; allowed: number; used: number }>();

  begin(key: string, cap: number): () => void {
    const b = this.budgets.get(key) ?? { inflight: 0, allowed: 0, used: 0 };
    b.inflight += 1;
    b.allowed += cap;
    this.budgets.set(key, b);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      b.inflight -= 1;
      if (b.inflight <= 0) this.budgets.delete(key);
    };
  }

  /** Spends one subrequest; false when the budget is spent (or no call of `key` is in flight). */
  spend(key: string): boolean {
    const b = this.budgets.get(key);
    if (!b || b.used >= b.allowed) return false;
    b.used += 1;
    return true;
  }
}
