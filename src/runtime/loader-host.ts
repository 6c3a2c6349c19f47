/**
 * Runs plugins through the Worker Loader binding. Each installation revision gets its own isolate
 * (id: package SHA-256 + installation + revision) with only the bindings its grants allow (the
 * binding table every backend shares, ./bindings.ts), and
 * `globalOutbound` set to the egress gate (network:<host>) or `null` (no network at all). The
 * platform's own bindings (D1, R2, Durable Objects) are never passed.
 */
import { pluginBindings } from "./bindings";
import { parseAll } from "../contract/permissions";
import { subrequestBudgets, type EgressProps } from "./egress";
import type { PluginHost } from "./host";
import type { InstallationStore } from "./storage";
import { PackageIntegrityError, loadModules } from "./packages";
import { PLUGIN_COMPATIBILITY_DATE, isolateId, type PluginSpec } from "./spec";

/**
 * The Worker's own entrypoints as plugins are handed them (`ctx.exports`). The one place that
 * names their type: workerd builds `ctx.exports` from the module's exports, which the type system
 * cannot see, so this is the one cast.
 */
export function hostExports(ctx: { exports?: unknown }): HostExports {
  return ctx.exports as HostExports;
}

/** The entrypoints of this Worker that plugins may be handed (ctx.exports). */
export interface HostExports {
  Egress: (opts: { props: EgressProps }) => Fetcher;
  PluginStorage: (opts: { props: { installationId: string } }) => Fetcher;
  /** Receives the isolate's trace (console output, exceptions) after each invocation. */
  LogTail: (opts: { props: { installationId: string } }) => Fetcher;
  IntegrationGate: (opts: {
    props: {
      installationId: string;
      orgId: string;
      environment: string;
      providers: string[];
      isolate: string;
    };
  }) => Fetcher;
}

/** The plugin's `env`: the binding table (./bindings.ts), with this Worker's entrypoints. */
export function pluginEnv(spec: PluginSpec, exports: HostExports): Record<string, unknown> {
  const env: Record<string, unknown> = {};
  for (const b of pluginBindings(spec)) {
    if (b.type === "json") env[b.name] = b.json;
    else if (b.type === "secret_text") env[b.name] = b.text;
    else if (b.entrypoint === "PluginStorage")
      env[b.name] = exports.PluginStorage({ props: b.props as { installationId: string } });
    else
      env[b.name] = exports.IntegrationGate({
        props: b.props as Parameters<HostExports["IntegrationGate"]>[0]["props"],
      });
  }
  return env;
}

export function networkHosts(spec: PluginSpec): string[] {
  return parseAll(spec.grants).flatMap((p) => (p.kind === "network" ? [p.host] : []));
}

export class LoaderHost implements PluginHost {
  readonly kind = "loader" as const;

  constructor(
    private readonly loader: WorkerLoader,
    private readonly packages: R2Bucket,
    private readonly exports: HostExports,
    private readonly store?: DurableObjectNamespace<InstallationStore>,
    /** The gateway's deadline for one call: a call's subrequest budget lasts no longer. */
    private readonly deadlineMs = 10_000,
  ) {}

  async clearStorage(installationId: string): Promise<void> {
    if (this.store) await this.store.get(this.store.idFromName(installationId)).clear();
  }

  /**
   * Runs the call. Integrity failures are recognised by where they happened (loading this
   * isolate's package), never by the text of an error: a plugin's own error message cannot pass
   * for one. The call's subrequest budget lasts until the plugin's response headers arrive, or
   * the call's deadline (a call the gateway abandons never reaches its `finally`).
   */
  async fetch(spec: PluginSpec, request: Request): Promise<Response> {
    const id = isolateId(spec);
    let integrity: PackageIntegrityError | undefined;
    const worker = this.loader.get(id, async () => {
      const hosts = networkHosts(spec);
      let modules: Record<string, string>;
      try {
        modules = await loadModules(this.packages, spec.sha256, spec.provenance, spec.signed);
      } catch (err) {
        if (err instanceof PackageIntegrityError) integrity = err;
        throw err;
      }
      return {
        compatibilityDate: PLUGIN_COMPATIBILITY_DATE,
        mainModule: spec.entry,
        modules,
        env: pluginEnv(spec, this.exports),
        globalOutbound:
          hosts.length > 0
            ? this.exports.Egress({
                props: { installationId: spec.installationId, hosts, isolate: id },
              })
            : null,
        tails: [this.exports.LogTail({ props: { installationId: spec.installationId } })],
      };
    });
    const end = subrequestBudgets.begin(id, spec.limits.subrequests, this.deadlineMs);
    try {
      return await worker
        .getEntrypoint(undefined, {
          limits: { cpuMs: spec.limits.cpuMs, subRequests: spec.limits.subrequests },
        })
        .fetch(request);
    } catch (err) {
      if (integrity) throw integrity;
      throw err;
    } finally {
      end();
    }
  }
}
