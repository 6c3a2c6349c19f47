/**
 * The plugin host's bindings (workers/plugin-host/wrangler.toml). Written by hand rather than by
 * `wrangler types`: a second generated file would redeclare the global Cloudflare namespace that
 * the gateway's worker-configuration.d.ts owns. The host's wrangler.toml is checked against this
 * interface by test/integration/plugin-host.test.ts.
 */
import type { InstallationStore } from "../../../src/runtime/storage";

export interface HostEnv {
  PACKAGES: R2Bucket;
  LOADER: WorkerLoader;
  INSTALLATION_STORE: DurableObjectNamespace<InstallationStore>;
  ATOLL_EGRESS_OVERRIDES: string;
  ATOLL_HOST_SECRET: string;
  /** The gateway, for the IntegrationGate bridge (plugins' integrations:<provider> calls). */
  ATOLL_GATEWAY_URL: string;
}
