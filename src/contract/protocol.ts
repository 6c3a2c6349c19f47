/**
 * The wire protocol between the platform and a plugin, written once: imported by the runtime
 * (which speaks it to every plugin), the SDK (which answers it) and the CLI.
 *
 * A plugin is a Worker module. The platform calls it over HTTP at PLUGIN_ORIGIN:
 *   POST /__atoll/initialize  { installationId, config, environment }  → 204   (on install)
 *   POST /__atoll/execute     { input }                                 → { output }
 *   POST /__atoll/cleanup     { installationId }                        → 204   (on uninstall)
 *   POST /__atoll/event       { id, topic, payload }                    → 204   (events:<topic> granted)
 * and forwards callers' requests to any other path. A hook it does not implement answers 404.
 */

/** The lifecycle hooks' paths. */
export const LIFECYCLE = {
  initialize: "/__atoll/initialize",
  execute: "/__atoll/execute",
  cleanup: "/__atoll/cleanup",
  event: "/__atoll/event",
} as const;
export type LifecycleHook = keyof typeof LIFECYCLE;

/** Every header the platform sets starts with this; a caller's or plugin's own are removed. */
export const PLATFORM_HEADER_PREFIX = "x-atoll-";

/** Headers the platform sets on each request to a plugin (who is calling, for which installation). */
export const CALL_HEADERS = {
  installation: "x-atoll-installation",
  organization: "x-atoll-organization",
  subject: "x-atoll-subject",
  requestId: "x-atoll-request-id",
  environment: "x-atoll-environment",
} as const;

/**
 * The bindings a plugin's `env` may hold, each only when its grant allows, the same on every
 * backend: `ATOLL` (installation facts and config) always; `STORAGE` with `storage`;
 * `INTEGRATIONS` with `integrations:<provider>`; each granted secret as its own string binding
 * `SECRET_<NAME>` (`secrets:API_KEY` → `env.SECRET_API_KEY`); each write-only (`writeOnly`)
 * setting as its own string binding `CONFIG_<key>` holding the setting's JSON (`apiKey` →
 * `JSON.parse(env.CONFIG_apiKey)`), never in `ATOLL`, whose value can be read back through
 * Cloudflare's API. The SDK merges them into `ctx.config`.
 */
export const BINDINGS = {
  facts: "ATOLL",
  storage: "STORAGE",
  integrations: "INTEGRATIONS",
  secretPrefix: "SECRET_",
  sealedConfigPrefix: "CONFIG_",
} as const;

/** What the `ATOLL` binding holds. */
export interface InstallationFacts {
  installationId: string;
  plugin: string;
  version: string;
  environment: string;
  /** The settings that are not write-only (those are `CONFIG_<key>` bindings). */
  config: Record<string, unknown>;
}
