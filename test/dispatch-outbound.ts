/**
 * The outbound side of the stand-in dispatch namespace (test/dispatch-standin.ts), as entrypoints
 * of the gateway's test Worker (test/worker.ts): a Worker Loader isolate's `globalOutbound` must
 * be an entrypoint of its parent, not another loaded isolate.
 *
 * - `DispatchOutbound` is what Cloudflare does between a user Worker and the namespace's outbound
 *   Worker: it counts each fetch the plugin makes against the call's `limits.subRequests`, refuses
 *   `connect()` (blocked once a namespace has an outbound Worker), and hands the request to the
 *   outbound Worker — the real `workers/outbound` code, bundled by the global setup and run as its
 *   own isolate whose `env` is the dispatch call's `outbound` parameters, nothing else.
 * - `StandInInternet` is that outbound Worker's network: it maps `https://<host>` to the host's
 *   local stand-in (ATOLL_EGRESS_OVERRIDES, as the local gate does) and sends everything else on
 *   to the test network guard (test/outbound-guard.ts), which reaches only named stand-ins such as
 *   the canary. It applies no policy: every refusal a plugin sees is the outbound Worker's own.
 */
import { WorkerEntrypoint, exports } from "cloudflare:workers";
import { SubrequestBudgets, parseOverrides } from "../src/runtime/egress-policy";

/** The outbound Worker a stand-in namespace runs: its one module and its compatibility date. */
export interface OutboundWorkerCode {
  /** Names this code in the isolate cache (the real Worker, or a test's own). */
  id: string;
  module: string;
  compatibilityDate: string;
}

export interface DispatchOutboundProps {
  /** The dispatch call's `outbound` parameters: the outbound Worker's whole env. */
  outbound: Record<string, unknown>;
  /** The key of the calls' subrequest budget (begun and ended by the stand-in around each call). */
  budget: string;
  worker: OutboundWorkerCode;
}

/** Subrequest budgets of the stand-in's dispatch calls. */
export const dispatchBudgets = new SubrequestBudgets();

/** This Worker's own entrypoints that the generated types of src/index.ts do not know. */
export const standInExports = exports as unknown as {
  DispatchOutbound(options: { props: DispatchOutboundProps }): Fetcher;
  StandInInternet(options: { props?: undefined }): Fetcher;
};

export class DispatchOutbound extends WorkerEntrypoint<Env, DispatchOutboundProps> {
  override async fetch(request: Request): Promise<Response> {
    const { outbound, budget, worker } = this.ctx.props;
    // Cloudflare's accounting: each fetch of the user Worker is a subrequest, refused or not.
    if (!dispatchBudgets.spend(budget))
      throw new Error(
        "Too many subrequests: the dispatch call's subrequest limit (limits.subRequests) is reached",
      );
    const isolate = this.env.LOADER.get(
      `outbound:${worker.id}:${JSON.stringify(outbound)}`,
      () => ({
        compatibilityDate: worker.compatibilityDate,
        mainModule: "outbound.js",
        modules: { "outbound.js": worker.module },
        env: outbound,
        globalOutbound: standInExports.StandInInternet({}),
      }),
    );
    return isolate.getEntrypoint().fetch(request);
  }

  /** With an outbound Worker configured, Cloudflare blocks a user Worker's `connect()`. */
  override connect(socket: Socket): void {
    void socket.close();
    throw new Error(
      "connect() is blocked: a dispatch namespace with an outbound Worker allows no raw sockets",
    );
  }
}

export class StandInInternet extends WorkerEntrypoint<Env> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const overrides = parseOverrides(this.env.ATOLL_EGRESS_OVERRIDES);
    const origin =
      url.protocol === "https:" && url.port === "" && Object.hasOwn(overrides, url.hostname)
        ? overrides[url.hostname]
        : undefined;
    if (origin === undefined) return fetch(request, { redirect: "manual" });
    const target = new URL(origin);
    target.pathname = url.pathname;
    target.search = url.search;
    return fetch(new Request(target, request), { redirect: "manual" });
  }
}
