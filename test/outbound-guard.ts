/**
 * Outbound network of the workers test project (Node side). Every fetch that leaves workerd —
 * from a test, from the app, from the egress gate — reaches `outboundGuard` (miniflare's
 * `outboundService`). It forwards only to origins a test setup has named as its stand-in
 * (`allowOrigin`), and refuses everything else loudly: the fetch gets a 599 problem naming the
 * URL, and the refusal is printed to stderr, so no test can silently reach the internet or a
 * random local port.
 */

const KEY = Symbol.for("atoll.test.allowedOrigins");
type Holder = { [KEY]?: Set<string> };

/** The shared set (on globalThis: vitest loads the config and the global setup as separate module instances). */
function allowed(): Set<string> {
  const holder = globalThis as Holder;
  holder[KEY] ??= new Set<string>();
  return holder[KEY];
}

/** Names a stand-in: requests to `url`'s origin are forwarded from now on. */
export function allowOrigin(url: string): void {
  allowed().add(new URL(url).origin);
}

/** The refusal a test sees (status 599, so no test can mistake it for an answer). */
export const REFUSED_STATUS = 599;

/** miniflare's outboundService handler. */
export async function outboundGuard(request: Request): Promise<Response> {
  const origin = URL.parse(request.url)?.origin ?? "";
  if (allowed().has(origin)) return forward(request);
  const detail = `The workers test project allows outbound requests only to named stand-ins; ${request.method} ${request.url} is not one (name it with allowOrigin in the test setup).`;
  console.error(`[outbound refused] ${request.method} ${request.url}`);
  return new Response(
    JSON.stringify({
      type: "https://atoll.dev/problems/test-outbound-refused",
      title: "Outbound request refused in tests",
      status: REFUSED_STATUS,
      detail,
    }),
    {
      status: REFUSED_STATUS,
      headers: { "content-type": "application/problem+json", "x-atoll-test-outbound": "refused" },
    },
  );
}

/**
 * Hop-by-hop headers Node's fetch sets itself. `upgrade` too: Node's fetch cannot upgrade (a
 * WebSocket upgrade would hang), so it reaches the stand-in as a plain request — which the
 * canary still records, so a hostile upgrade test keeps its power.
 */
const HOP = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "keep-alive",
  "upgrade",
]);

/** Re-issues the request from Node (miniflare's Request is another undici's class than Node's fetch takes). */
async function forward(request: Request): Promise<Response> {
  const headers: [string, string][] = [];
  request.headers.forEach((value, name) => {
    if (!HOP.has(name)) headers.push([name, value]);
  });
  const body =
    request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
  const res = await fetch(request.url, {
    method: request.method,
    headers,
    body,
    redirect: "manual",
  });
  // Node's fetch has already decoded the body: its encoding and length headers no longer apply.
  const out = new Headers(res.headers);
  for (const name of ["content-encoding", "content-length", "transfer-encoding"]) out.delete(name);
  if (request.headers.get("upgrade") === null)
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
  // miniflare writes the answer to an upgrade onto the raw socket: a whole body and a closed
  // connection, or workerd waits for more (the stand-ins never switch protocols).
  out.set("connection", "close");
  return new Response(await res.arrayBuffer(), { status: res.status, headers: out });
}
