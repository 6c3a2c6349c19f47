/**
 * The egress gate: every outbound `fetch` of a plugin isolate with a `network:` grant goes
 * through here (`globalOutbound`). Refusals are thrown into the plugin and logged; redirects are
 * followed by hand so that each hop is checked again.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { checkEgress, parseOverrides } from "./egress-policy";

export interface EgressProps {
  installationId: string;
  hosts: string[];
}

const MAX_REDIRECTS = 5;

export class Egress extends WorkerEntrypoint<Env, EgressProps> {
  override async fetch(request: Request): Promise<Response> {
    const { hosts, installationId } = this.ctx.props;
    const overrides = parseOverrides(this.env.ATOLL_EGRESS_OVERRIDES);
    let req = request;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const url = new URL(req.url);
      const decision = checkEgress(url, hosts);
      if (!decision.ok) {
        console.warn(JSON.stringify({ level: "warn", msg: "plugin egress refused", installationId, host: url.hostname, reason: decision.reason }));
        throw new Error(`Atoll refused this request: ${decision.reason}`);
      }
      const override = overrides[url.hostname];
      const target = override ? new URL(url.pathname + url.search, override) : url;
      const res = await fetch(new Request(target, req), { redirect: "manual" });
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, url);
        const keepBody = res.status === 307 || res.status === 308;
        req = new Request(next, { method: keepBody ? req.method : "GET", headers: req.headers, body: keepBody ? req.body : null });
        continue;
      }
      return res;
    }
    throw new Error("Atoll refused this request: too many redirects");
  }

  /** Raw TCP from a plugin (`connect()` from cloudflare:sockets) is never allowed. */
  override connect(socket: Socket): void {
    console.warn(JSON.stringify({ level: "warn", msg: "plugin socket refused", installationId: this.ctx.props.installationId }));
    void socket.close();
    throw new Error("Atoll refused this connection: plugins may not open raw sockets");
  }
}
