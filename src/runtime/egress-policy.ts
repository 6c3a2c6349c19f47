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
import type { Result } from "../contract/result";
export type EgressDecision = Result;

export function checkEgress(url: URL, grantedHosts: readonly string[]): EgressDecision {
  if (url.protocol !== "https:")
    return { ok: false, reason: `only https is allowed (got ${url.protocol})` };
  if (url.username || url.password)
    return { ok: false, reason: "credentials in URLs are not allowed" };
  if (url.port !== "") return { ok: false, reason: "only the default port is allowed" };
  const host = url.hostname.toLowerCase();
  if (host.startsWith("[") || /^\d+(\.\d+){3}$/.test(host))
    return { ok: false, reason: `IP addresses are not reachable (${host})` };
  if (!grantedHosts.includes(host))
    return { ok: false, reason: `${host} is not granted (network:${host})` };
  return { ok: true };
}

export type EgressTarget = Result<{ target: URL }>;

/**
 * The URL an egress gate fetches for a plugin's `url`: checked against the grants, then rebuilt on
 * the granted host's fixed origin (or its override). The result's origin is always one the
 * platform chose; the plugin controls only the path and the query string.
 */
export function egressTarget(
  url: URL,
  grantedHosts: readonly string[],
  overrides: Readonly<Record<string, string>> = {},
): EgressTarget {
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
  if (target.origin !== new URL(origin ?? `https://${host}`).origin)
    return { ok: false, reason: "the request's path would leave the granted origin" };
  return { ok: true, target };
}

/**
 * What a plugin's refused fetch answers, on every backend (the local egress gate and the
 * production outbound Worker): 403, `x-atoll-egress: refused`, the reason as text. An answer and
 * not a thrown error, because an exception's way out of an outbound Worker into the user Worker
 * is not something the platform promises; a response is.
 */
export function egressRefusal(reason: string): Response {
  return new Response(`Atoll refused this request: ${reason}`, {
    status: 403,
    headers: { "x-atoll-egress": "refused", "content-type": "text/plain; charset=utf-8" },
  });
}

/** Not sent on to another origin by a redirect (the Fetch standard drops Authorization; undici also these). */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];
/** Describe a body: dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
];

/** The next request, or null: not followed, the redirect answer goes back to the plugin as it is. */
export type RedirectHop = Result<{ request: Request | null }>;

/**
 * The next request of a redirect, as the Fetch standard builds it: `location` resolved against
 * `url` (the URL the plugin asked for, not the rebuilt target); a POST after 301 or 302, and
 * anything but GET or HEAD after 303, becomes a GET without its body; the plugin's credentials
 * are dropped when the redirect leaves the origin. The gates check and rebuild the result like
 * any other hop. A redirect that would send the body again is not followed: the body has gone to
 * the first hop and is not kept (a gate buffers no plugin upload), so the plugin gets the
 * redirect answer and may send again itself.
 */
export function redirectHop(
  request: Request,
  url: URL,
  status: number,
  location: string,
): RedirectHop {
  const next = URL.parse(location, url);
  if (!next) return { ok: false, reason: "the redirect's location is not a URL" };
  const toGet =
    ((status === 301 || status === 302) && request.method === "POST") ||
    (status === 303 && request.method !== "GET" && request.method !== "HEAD");
  if (!toGet && request.body !== null) return { ok: true, request: null };
  const headers = new Headers(request.headers);
  if (next.origin !== url.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  if (toGet) for (const name of BODY_HEADERS) headers.delete(name);
  return {
    ok: true,
    request: new Request(next, { method: toGet ? "GET" : request.method, headers }),
  };
}

/** Parses ATOLL_EGRESS_OVERRIDES: JSON `{ "api.example.com": "http://127.0.0.1:9000" }` (local stand-ins). */
export function parseOverrides(value: string | undefined): Record<string, string> {
  if (!value) return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    if (!parsed || typeof parsed !== "object") return {};
    return Object.fromEntries(
      Object.entries(parsed as Record<string, unknown>).filter(
        (e): e is [string, string] => typeof e[1] === "string",
      ),
    );
  } catch {
    return {};
  }
}

/**
 * Subrequest budgets per isolate: each call the host starts adds the plugin's per-call cap; every
 * outbound fetch (and integration call) spends one; once the isolate has no call in flight the
 * budget is gone. With one call at a time this is exactly the per-call cap; concurrent calls of
 * one installation share the sum of their caps. A call counts as in flight until it ends or its
 * deadline passes, whichever is first: a call abandoned at the deadline (or by its caller) never
 * runs its end, and must not lend its cap to later calls. Production enforces the cap in the
 * dispatch namespace itself.
 */
export class SubrequestBudgets {
  private readonly budgets = new Map<
    string,
    { calls: Map<number, { cap: number; until: number }>; used: number }
  >();
  private next = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A call of `key` with `cap` subrequests, in flight for at most `ttlMs` (its deadline). */
  begin(key: string, cap: number, ttlMs: number): () => void {
    const b = this.live(key) ?? { calls: new Map(), used: 0 };
    const id = this.next++;
    b.calls.set(id, { cap, until: this.now() + ttlMs });
    this.budgets.set(key, b);
    return () => {
      b.calls.delete(id);
      if (b.calls.size === 0 && this.budgets.get(key) === b) this.budgets.delete(key);
    };
  }

  /** Spends one subrequest; false when the budget is spent (or no call of `key` is in flight). */
  spend(key: string): boolean {
    const b = this.live(key);
    if (!b) return false;
    let allowed = 0;
    for (const call of b.calls.values()) allowed += call.cap;
    if (b.used >= allowed) return false;
    b.used += 1;
    return true;
  }

  /** The key's budget without the calls whose time is up; none when no call is left. */
  private live(key: string) {
    const b = this.budgets.get(key);
    if (!b) return undefined;
    const now = this.now();
    for (const [id, call] of b.calls) if (call.until <= now) b.calls.delete(id);
    if (b.calls.size > 0) return b;
    this.budgets.delete(key);
    return undefined;
  }
}
