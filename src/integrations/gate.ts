/**
 * What a plugin granted `integrations:<provider>` holds as `env.INTEGRATIONS`: an RPC entrypoint
 * whose organization, environment and granted providers are fixed by the platform (props), so
 * the plugin can only reach its own organization's connections, and never sees a credential —
 * the connection's broker injects it.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { getDb } from "../platform/db/client";
import { subrequestBudgets } from "../runtime/egress";
import type { Forwarded } from "./broker";
import { brokerFor, findConnection } from "./connections.routes";

export interface GateProps {
  installationId: string;
  orgId: string;
  environment: string;
  providers: string[];
  /** The calling isolate (loader backend): each call to a provider spends one of its subrequests. */
  isolate?: string;
}

export class IntegrationGate extends WorkerEntrypoint<Env, GateProps> {
  async request(
    provider: string,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Forwarded> {
    const { isolate } = this.ctx.props;
    if (isolate !== undefined && !subrequestBudgets.spend(isolate)) return subrequestLimitReached();
    return forwardForPlugin(this.env, this.ctx.props, String(provider), String(path), init);
  }
}

/** What an integration call past the call's subrequest limit answers. */
export function subrequestLimitReached(): Forwarded {
  return {
    status: 429,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      error: "the plugin's subrequest limit for this call is reached (limits.subrequests)",
    }),
  };
}

export async function forwardForPlugin(
  env: Env,
  props: GateProps,
  provider: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<Forwarded> {
  const problem = (status: number, error: string): Forwarded => ({
    status,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ error }),
  });
  if (!props.providers.includes(provider))
    return problem(403, `integrations:${provider} is not granted to this plugin`);
  const conn = await findConnection(getDb(env.DB), props.orgId, provider, props.environment);
  if (!conn)
    return problem(
      424,
      `the organization has no active ${provider} connection in ${props.environment}`,
    );
  const body = typeof init.body === "string" ? init.body : undefined;
  if (body && body.length > 1024 * 1024)
    return problem(413, "request bodies to providers are at most 1 MiB");
  return brokerFor(env, conn.id).forward(conn.id, path, {
    method: typeof init.method === "string" ? init.method : "GET",
    headers: init.headers && typeof init.headers === "object" ? init.headers : {},
    ...(body !== undefined ? { body } : {}),
  });
}
