/**
 * The outbound Worker of the production dispatch namespace (wrangler.toml beside this file):
 * every `fetch` a plugin makes passes here with the dispatch call's parameters (`installationId`,
 * `hosts`: the granted network hosts, comma-separated). The same policy as the local egress gate:
 * only the granted hosts, https, default port, redirects re-checked (credentials dropped when one
 * leaves the origin), and each hop fetched from the granted host's fixed origin with only the
 * plugin's path and query copied onto it. A refusal is the same 403 answer as the local gate's.
 *
 * Raw sockets: Workers for Platforms does not pass a user Worker's `connect()` to its outbound
 * Worker — with an outbound Worker configured, `connect()` is blocked by the platform — so plugins
 * in the dispatch namespace cannot open sockets at all (docs/trust-model.md).
 */
import { egressRefusal, egressTarget, redirectHop } from "../../../src/runtime/egress-policy";

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
  const refuse = (host: string, reason: string) => {
    console.warn(
      JSON.stringify({
        level: "warn",
        msg: "plugin egress refused",
        installationId: env.installationId,
        host,
        reason,
      }),
    );
    return egressRefusal(reason);
  };
  let req = request;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const url = new URL(req.url);
    const decision = egressTarget(url, hosts);
    if (!decision.ok) return refuse(url.hostname, decision.reason);
    const res = await fetchFn(new Request(decision.target, req), { redirect: "manual" });
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      const next = redirectHop(req, url, res.status, location);
      if (!next.ok) {
        await res.body?.cancel();
        return refuse(url.hostname, next.reason);
      }
      // Not followed (it would send the body again): the plugin gets the redirect.
      if (next.request === null) return res;
      await res.body?.cancel();
      req = next.request;
      continue;
    }
    return res;
  }
  return refuse(new URL(req.url).hostname, "too many redirects");
}

export default {
  fetch: (request: Request, env: OutboundEnv) => outboundFetch(request, env),
};
