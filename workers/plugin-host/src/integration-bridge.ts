/**
 * The plugin host's `IntegrationGate`: the host has no connections (they live in the gateway's
 * D1 and brokers), so a plugin's integrations:<provider> call is forwarded to the gateway over
 * loopback in a sealed `relay` with the installation's sealed grant — the latest one the gateway sent with a call of
 * this installation (host-auth.ts). The gateway verifies it, derives organization, environment
 * and providers from the installation it names, and injects credentials. Nothing the host or the
 * plugin sends can name another installation or organization.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { subrequestBudgets } from "../../../src/runtime/egress";
import { sealRelay } from "../../../src/runtime/host-auth";
import type { HostEnv } from "./env";

interface GateProps {
  installationId: string;
  /** The calling isolate: each integration call spends one of its call's subrequests. */
  isolate: string;
}

const grants = new Map<string, string>();

/** Keeps the newest sealed grant of an installation (sent with each of its calls). */
export function rememberGrant(installationId: string, grant: string): void {
  if (grants.size > 10_000) grants.clear();
  grants.set(installationId, grant);
}

export class HostIntegrationGate extends WorkerEntrypoint<HostEnv, GateProps> {
  async request(
    provider: string,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) {
    const grant = grants.get(this.ctx.props.installationId);
    const refused = (status: number, error: string) => ({
      status,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ error }),
    });
    if (!grant) return refused(403, "no integration grant for this installation");
    if (!subrequestBudgets.spend(this.ctx.props.isolate))
      return refused(
        429,
        "the plugin's subrequest limit for this call is reached (limits.subrequests)",
      );
    // Sealed whole (grant, call): nothing on loopback can be read, changed or sent again.
    const res = await fetch(`${this.env.ATOLL_GATEWAY_URL}/__host/integrations`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: await sealRelay(
        this.env.ATOLL_HOST_SECRET,
        "/__host/integrations",
        grant,
        JSON.stringify({ provider: String(provider), path: String(path), init }),
      ),
    });
    if (!res.ok) return refused(502, `the gateway refused the integration call (${res.status})`);
    return (await res.json()) as { status: number; headers: Record<string, string>; body: string };
  }
}
