/**
 * Outbound policy for plugin isolates (pure). A plugin may fetch exactly the hosts its granted
 * `network:` permissions name, over https on the default port; nothing else — no other host, no IP
 * literal, no loopback or private name, no credentials in the URL. Redirects are re-checked hop by
 * hop by the egress gate.
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
