/**
 * The plugin host's `IntegrationGate`: the host has no connections (they live in the gateway's
 * D1 and brokers), so a plugin's integrations:<provider> call is forwarded to the gateway over
 * loopback with the shared host secret; the gateway checks the grant and injects credentials.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { HOST_SECRET_HEADER } from "../runtime/service-host";
import type { HostEnv } from "./env";

interface GateProps {
  installationId: string;
  orgId: string;
  environment: string;
  providers: string[];
}

export class HostIntegrationGate extends WorkerEntrypoint<HostEnv, GateProps> {
  async request(provider: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
    const res = await fetch(`${this.env.ATOLL_GATEWAY_URL}/__host/integrations`, {
      method: "POST",
      headers: { "content-type": "application/json", [HOST_SECRET_HEADER]: this.env.ATOLL_HOST_SECRET },
      body: JSON.stringify({ props: this.ctx.props, provider: String(provider), path: String(path), init }),
    });
    if (!res.ok) return { status: 502, headers: { "content-type": "application/json" }, body: JSON.stringify({ error: `the gateway refused the integration call (${res.status})` }) };
    return (await res.json()) as { status: number; headers: Record<string, string>; body: string };
  }
}
