/**
 * One interface over the backends that run plugin isolates. The gateway never knows which serves:
 * - `loader`: the Worker Loader binding in this process (tests; usable in production too);
 * - `service`: the separate plugin-host Worker (locally, so that a spinning plugin cannot freeze
 *   the gateway: local workerd enforces no CPU limit and runs one thread);
 * - `dispatch`: a Workers for Platforms dispatch namespace (production).
 */
import type { PluginSpec } from "./spec";

export interface PluginHost {
  readonly kind: "loader" | "service" | "dispatch";
  /** Sends `request` to the installation's isolate. Rejects when the plugin throws or cannot run. */
  fetch(spec: PluginSpec, request: Request): Promise<Response>;
  /** Deletes an installation's storage (on uninstall), wherever the backend keeps it. */
  clearStorage(installationId: string): Promise<void>;
  /** Makes an installation runnable before its first call (the dispatch backend uploads it). */
  prepare?(spec: PluginSpec): Promise<void>;
  /** Releases what `prepare` made (after uninstall). */
  retire?(spec: PluginSpec): Promise<void>;
}

/** The backend's control API (the dispatch backend's uploads and deletes) refused or failed. */
export class HostApiError extends Error {
  constructor(
    message: string,
    /** When it asked to wait longer than the client retries for (its Retry-After, seconds). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
