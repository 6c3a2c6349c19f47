/**
 * Which address an anonymous call is limited by (pure). Never a header the client chose:
 *
 * - Production (`ATOLL_ENV=production`, behind Cloudflare): `CF-Connecting-IP`, which Cloudflare
 *   sets on every request from the internet, replacing whatever the client sent. `X-Real-IP`
 *   and `X-Forwarded-For` are the client's to write and are ignored. An IPv6 address counts by
 *   its /64 (one subscriber's allocation), so rotating through one's own prefix buys nothing.
 *   Without the header (not from the internet) the call shares the bucket "unknown".
 * - Locally (wrangler dev): the Worker cannot see the socket, and miniflare keeps a client's own
 *   `CF-Connecting-IP` (it writes the socket's address into that header only when the client
 *   sent none: workers-sdk#7702), so no header can be trusted. `npm start` and the test harness
 *   bind wrangler dev to 127.0.0.1, so the socket's address is the loopback address: every local
 *   caller is limited as 127.0.0.1.
 * - In the workers test pool (`ATOLL_ENV=test`, set only by vitest.config.ts): no socket and no
 *   client but the harness, which plays Cloudflare's part: `call()` in test/helpers.ts sets
 *   `CF-Connecting-IP` on every request, replacing whatever the test sent, so each test has an
 *   address (and an anonymous budget) of its own. Read as in production.
 */
export const LOCAL_ADDRESS = "127.0.0.1";

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]{2,45}$/;

export function clientAddress(
  headers: { get(name: string): string | null },
  env: { ATOLL_ENV: string },
): string {
  if (env.ATOLL_ENV !== "production" && env.ATOLL_ENV !== "test") return LOCAL_ADDRESS;
  const ip = headers.get("cf-connecting-ip")?.trim().toLowerCase() ?? "";
  if (IPV4.test(ip)) return ip;
  const mapped = /^::ffff:(.+)$/.exec(ip)?.[1];
  if (mapped && IPV4.test(mapped)) return mapped;
  if (ip.includes(":") && IPV6.test(ip)) return ipv6Prefix64(ip) ?? "unknown";
  return "unknown";
}

/** The first four hextets of an IPv6 address ("2001:db8:1:2::5" → "2001:db8:1:2::/64"), or null. */
export function ipv6Prefix64(ip: string): string | null {
  const [head = "", tail, ...rest] = ip.split("::");
  if (rest.length > 0) return null;
  const left = head ? head.split(":") : [];
  const right = tail !== undefined && tail !== "" ? tail.split(":") : [];
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two hextets.
  const width = (parts: string[]) => parts.reduce((n, p) => n + (p.includes(".") ? 2 : 1), 0);
  const missing = 8 - width(left) - width(right);
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [
    ...left,
    ...Array.from({ length: tail === undefined ? 0 : missing }, () => "0"),
    ...right,
  ];
  const first = groups.slice(0, 4);
  if (first.length < 4 || first.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return `${first.map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
