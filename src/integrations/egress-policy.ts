/**
 * The egress policy for URLs the platform fetches on a tenant's behalf (pure, no I/O): connection
 * base URLs, URLs a provider returns (Salesforce's `instance_url`, pagination links, redirect
 * `Location`s) and Zapier hook URLs. It is applied at the moment a URL is used — every fetch in
 * src/integrations goes through `providerRequest` or the broker, which call it — not only when
 * the URL is saved, so a provider that changes its answer later gains nothing.
 *
 * A URL passes when it is https, names a public DNS host (at least two labels, no IP literal in
 * any form, no trailing dot, no internal or special-use suffix), uses the default port and
 * carries no credentials. The WHATWG URL parser canonicalizes IPv4 forms first (decimal
 * `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, short `127.1`, percent-encoded, full-width
 * digits all become `127.0.0.1`), so one check on the parsed host covers them all.
 *
 * `allowLocal` (ATOLL_INTEGRATIONS_ALLOW_HTTP = "true", never in production) additionally admits
 * http and the loopback hosts the local provider stand-ins listen on (`localhost`, `127.x.x.x`,
 * `[::1]`) on any port. Nothing else is relaxed: credentials, link-local, private and mapped
 * addresses and internal names stay refused locally too.
 *
 * Resolution is not checked (a Worker cannot resolve names); a public name whose DNS points at a
 * private address reaches nothing on Cloudflare's egress, and known wildcard-DNS services that
 * exist to map names onto addresses (nip.io, sslip.io, …) are refused by name.
 */

export type EgressRefusal =
  | "not-a-url"
  | "scheme"
  | "credentials"
  | "ip-literal"
  | "trailing-dot"
  | "internal-name"
  | "port"
  | "not-a-dns-name";

export type EgressVerdict =
  { ok: true; url: URL } | { ok: false; reason: EgressRefusal; message: string };

export interface EgressOptions {
  /** Local stand-ins: http and loopback on any port (ATOLL_INTEGRATIONS_ALLOW_HTTP). */
  allowLocal: boolean;
}

/** Suffixes that name no public host (RFC 6761, RFC 6762, RFC 8375, common private zones). */
const INTERNAL_SUFFIXES = [
  "localhost",
  "local",
  "internal",
  "intranet",
  "lan",
  "home",
  "corp",
  "private",
  "localdomain",
  "home.arpa",
  "arpa",
  "test",
  "example",
  "invalid",
  "onion",
  "alt",
];

/** Public wildcard-DNS services whose names resolve to the address they spell. */
const ADDRESS_DNS = [
  "nip.io",
  "sslip.io",
  "xip.io",
  "localtest.me",
  "lvh.me",
  "vcap.me",
  "lacolhost.com",
  "traefik.me",
  "localhost.run",
  "localhost.direct",
  "local.gd",
  "nip.direct",
  // DNS-rebinding services: names that answer with an address the name spells, or alternate.
  "1u.ms",
  "rbndr.us",
  "rebind.it",
];

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

const MESSAGES: Record<EgressRefusal, string> = {
  "not-a-url": "is not an absolute URL",
  scheme: "must use https",
  credentials: "must not carry credentials",
  "ip-literal": "must name a public host, not an IP address",
  "trailing-dot": "must not end in a dot",
  "internal-name": "must name a public host, not an internal or special-use name",
  port: "must use the default port",
  "not-a-dns-name": "must name a public DNS host",
};

const refuse = (reason: EgressRefusal): EgressVerdict => ({
  ok: false,
  reason,
  message: MESSAGES[reason],
});

const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "[::1]" || (IPV4.test(host) && host.startsWith("127."));

const endsWith = (host: string, suffix: string): boolean =>
  host === suffix || host.endsWith(`.${suffix}`);

/**
 * Checks one URL against the integrations egress policy.
 *
 * @example
 * checkEgressUrl("https://acme.my.salesforce.com/services", { allowLocal: false }); // { ok: true, url }
 * checkEgressUrl("https://169.254.169.254/", { allowLocal: false }); // { ok: false, reason: "ip-literal", … }
 */
export function checkEgressUrl(raw: string | URL, options: EgressOptions): EgressVerdict {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    return refuse("not-a-url");
  }
  if (url.protocol !== "https:" && !(options.allowLocal && url.protocol === "http:"))
    return refuse("scheme");
  if (url.username !== "" || url.password !== "") return refuse("credentials");
  const host = url.hostname.toLowerCase();
  if (options.allowLocal && isLoopback(host)) return { ok: true, url };
  if (host.startsWith("[") || host.includes(":")) return refuse("ip-literal");
  if (host.endsWith(".")) return refuse("trailing-dot");
  const labels = host.split(".");
  const last = labels[labels.length - 1] ?? "";
  // The parser turns every IPv4 spelling into dotted decimal; a numeric last label is an address.
  if (IPV4.test(host) || /^(\d+|0x[0-9a-f]*)$/.test(last)) return refuse("ip-literal");
  if (url.port !== "") return refuse("port");
  if (
    INTERNAL_SUFFIXES.some((s) => endsWith(host, s)) ||
    ADDRESS_DNS.some((s) => endsWith(host, s))
  )
    return refuse("internal-name");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return refuse("not-a-dns-name");
  return { ok: true, url };
}

/**
 * Joins an API origin (a checked base URL) and a request path, refusing a path that would move the
 * request to another origin, then checks the result. Paths are parsed, never concatenated raw.
 */
export function joinEgressUrl(base: string, path: string, options: EgressOptions): EgressVerdict {
  const origin = checkEgressUrl(base, options);
  if (!origin.ok) return origin;
  if (!path.startsWith("/") || path.startsWith("//") || path.includes("\\"))
    return refuse("not-a-url");
  let joined: URL;
  try {
    joined = new URL(`${origin.url.pathname.replace(/\/+$/, "")}${path}`, origin.url.origin);
  } catch {
    return refuse("not-a-url");
  }
  if (joined.origin !== origin.url.origin) return refuse("not-a-url");
  return checkEgressUrl(joined, options);
}

/** The policy's options from the environment: local stand-ins only by the explicit setting. */
export function egressOptions(env: {
  ATOLL_INTEGRATIONS_ALLOW_HTTP?: string;
  ATOLL_ENV?: string;
}): EgressOptions {
  return {
    allowLocal: env.ATOLL_INTEGRATIONS_ALLOW_HTTP === "true" && env.ATOLL_ENV !== "production",
  };
}
