/**
 * Atoll's gateway Worker: its exports only. The app is built in app.ts; cron and queue jobs are
 * in jobs.ts; Durable Objects and entrypoints live in their domains.
 */
import { app } from "./app";
import { queue, scheduled } from "./jobs";
import { problemResponse } from "./platform/http/problem";
import { dispatchTail } from "./runtime/log-tail";

export { RateLimiter } from "./access/ratelimit/durable-object";
export { InstallationStore, PluginStorage } from "./runtime/storage";
export { Egress } from "./runtime/egress";
export { LogTail } from "./runtime/log-tail";
export { ConnectionBroker } from "./integrations/broker";
export { IntegrationGate } from "./integrations/gate";

/**
 * A request target that is not an absolute path (`OPTIONS *`, an authority form) has no route:
 * 400 before anything parses it.
 */
function routable(request: Request): boolean {
  const url = URL.parse(request.url);
  return url !== null && request.url.startsWith(`${url.origin}/`);
}

export default {
  fetch: (request, env, ctx) =>
    routable(request)
      ? app.fetch(request, env, ctx)
      : problemResponse(
          {
            status: 400,
            type: "bad-request-target",
            title: "Bad request target",
            detail:
              "Requests must name an absolute path (such as /v1/me); '*' and authority forms are not served.",
          },
          undefined,
        ),
  scheduled,
  queue,
  // Production: the tail consumer of the plugins' user Workers (runtime/log-tail.ts).
  tail: (events, env) => dispatchTail(events, env),
} satisfies ExportedHandler<Env>;
