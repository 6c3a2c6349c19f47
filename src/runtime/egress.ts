/**
 * The egress gate: every outbound `fetch` of a plugin isolate with a `network:` grant goes
 * through here (`globalOutbound`). Each hop is rebuilt on the granted host's fixed origin
 * (`egressTarget`), so plugin input never chooses where a connection goes; redirects are followed
 * by hand so that each hop is checked again; every hop spends one of the call's subrequests.
 * A refusal is logged and answered as the production outbound Worker answers it (`egressRefusal`:
 * 403, `x-atoll-egress: refused`); only the subrequest limit, a platform limit, is thrown.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import {
  SubrequestBudgets,
  egressRefusal,
  egressTarget,
  parseOverrides,
  redirectHop,
} from "./egress-policy";

export interface EgressProps {
  installationId: string;
  hosts: string[];
  /** The isolate's id: the key of its subrequest budget. */
  isolate: string;
}

const MAX_REDIRECTS = 5;

/** Budgets of the isolates this process runs (begun and ended by the host around each call). */
export const subrequestBudgets = new SubrequestBudgets();

export class Egress extends WorkerEntrypoint<Env, EgressProps> {
  override async fetch(request: Request): Promise<Response> {
    const { hosts, installationId, isolate } = this.ctx.props;
    const overrides = parseOverrides(this.env.ATOLL_EGRESS_OVERRIDES);
    const refuse = (host: string, reason: string) => {
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "plugin egress refused",
          installationId,
          host,
          reason,
        }),
      );
      return egressRefusal(reason);
    };
    let req = request;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const url = new URL(req.url);
      const decision = egressTarget(url, hosts, overrides);
      if (!decision.ok) return refuse(url.hostname, decision.reason);
      // The platform's limit, as Cloudflare's own: thrown, like its "Too many subrequests".
      if (!subrequestBudgets.spend(isolate)) {
        console.warn(
          JSON.stringify({ level: "warn", msg: "plugin subrequest limit reached", installationId }),
        );
        throw new Error(
          "Atoll refused this request: the plugin's subrequest limit for this call is reached (limits.subrequests)",
        );
      }
      const res = await fetch(new Request(decision.target, req), { redirect: "manual" });
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

  /** Raw TCP from a plugin (`connect()` from cloudflare:sockets) is never allowed. */
  override connect(socket: Socket): void {
    console.warn(
      JSON.stringify({
        level: "warn",
        msg: "plugin socket refused",
        installationId: this.ctx.props.installationId,
      }),
    );
    void socket.close();
    throw new Error("Atoll refused this connection: plugins may not open raw sockets");
  }
}
