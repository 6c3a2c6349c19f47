/**
 * The outbound Worker of the production dispatch namespace (wrangler.toml beside this file):
 * every `fetch` a plugin makes passes here with the dispatch call's parameters (`installationId`,
 * `hosts`: the granted network hosts, comma-separated). The same policy as the local egress gate:
 * only the granted hosts, https, default port, redirects re-checked, and each hop fetched from the
 * granted host's fixed origin with only the plugin's path and query copied onto it.
 *
 * Raw sockets: Workers for Platforms does not pass a user Worker's `connect()` to its outbound
 * Worker — with an outbound Worker configured, `connect()` is blocked by the platform — so plugins
 * in the dispatch namespace cannot open sockets at all (docs/trust-model.md).
 */
import { egressTarget } from "../../../src/runtime/egress-policy";

export interface OutboundEnv {
  installationId?: string;
  hosts?: string;
}

const MAX_REDIRECTS = 5;

export async function outboundFetch(
  request: Request,
  env: OutboundEnv,
  fetchFn: typeof fetch = fetch,
): Promise<Response> {
  const hosts = (env.hosts ?? "").split(",").filter(Boolean);
  let req = request;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const url = new URL(req.url);
    const decision = egressTarget(url, hosts);
    if (!decision.ok) {
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "plugin egress refused",
          installationId: env.installationId,
          host: url.hostname,
          reason: decision.reason,
        }),
      );
      return new Response(`Atoll refused this request: ${decision.reason}`, {
        status: 403,
        headers: { "x-atoll-egress": "refused" },
      });
    }
    const res = await fetchFn(new Request(decision.target, req), { redirect: "manual" });
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      const keepBody = res.status === 307 || res.status === 308;
      req = new Request(new URL(location, url), {
        method: keepBody ? req.method : "GET",
        headers: req.headers,
        body: keepBody ? req.body : null,
      });
      continue;
    }
    return res;
  }
  return new Response("Atoll refused this request: too many redirects", {
    status: 403,
    headers: { "x-atoll-egress": "refused" },
  });
}

export default {
  fetch: (request: Request, env: OutboundEnv) => outboundFetch(request, env),
};
