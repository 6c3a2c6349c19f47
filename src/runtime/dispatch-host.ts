/**
 * The production backend: each installation revision is a user Worker in the Workers for
 * Platforms dispatch namespace, uploaded through the Cloudflare API when the installation is
 * created (its bindings are the installation's, from the table every backend shares:
 * ./bindings.ts). Calls go through `DISPATCHER.get(name, {}, { limits, outbound })`: the platform's caps
 * on CPU and subrequests, and the outbound Worker's parameters (the granted hosts).
 */
import { pluginBindings } from "./bindings";
import type { ScriptBinding, ScriptsApi } from "./cloudflare-api";
import type { PluginHost } from "./host";
import { networkHosts } from "./loader-host";
import { loadModules } from "./packages";
import { scriptTags } from "./script-tags";
import { PLUGIN_COMPATIBILITY_DATE, type PluginSpec } from "./spec";
import type { InstallationStore } from "./storage";

/** The user Worker's name: one per installation revision (≤ 63 characters). */
export function scriptName(spec: Pick<PluginSpec, "installationId" | "revision">): string {
  return `atoll-${spec.installationId.slice(4)}-${spec.revision.toString(36)}`.toLowerCase();
}

/**
 * The bindings a user Worker gets: the binding table every backend shares (./bindings.ts), as
 * upload bindings (services point at this Worker's entrypoints, props and all).
 */
export function scriptBindings(spec: PluginSpec, platformService: string): ScriptBinding[] {
  return pluginBindings(spec).map((b): ScriptBinding => {
    if (b.type === "service")
      return {
        type: "service",
        name: b.name,
        service: platformService,
        entrypoint: b.entrypoint,
        props: b.props,
      };
    return b;
  });
}

export class DispatchHost implements PluginHost {
  readonly kind = "dispatch" as const;

  constructor(
    private readonly dispatcher: DispatchNamespace,
    private readonly api: ScriptsApi,
    private readonly packages: R2Bucket,
    private readonly store: DurableObjectNamespace<InstallationStore>,
    private readonly platformService = "atoll",
  ) {}

  /** Uploads the installation's user Worker (called before its initialize). */
  async prepare(spec: PluginSpec): Promise<void> {
    await this.api.upload(scriptName(spec), {
      mainModule: spec.entry,
      modules: await loadModules(this.packages, spec.sha256, spec.provenance, spec.signed),
      compatibilityDate: PLUGIN_COMPATIBILITY_DATE,
      bindings: scriptBindings(spec, this.platformService),
      // In the safe tag alphabet (./script-tags.ts): installation, org, plugin, environment, package.
      tags: scriptTags(spec),
      // Its console output and exceptions go to this Worker's tail() handler (log-tail.ts).
      tailConsumers: [{ service: this.platformService }],
    });
  }

  fetch(spec: PluginSpec, request: Request): Promise<Response> {
    const worker = this.dispatcher.get(
      scriptName(spec),
      {},
      {
        limits: { cpuMs: spec.limits.cpuMs, subRequests: spec.limits.subrequests },
        outbound: { installationId: spec.installationId, hosts: networkHosts(spec).join(",") },
      },
    );
    return worker.fetch(request);
  }

  async clearStorage(installationId: string): Promise<void> {
    await this.store.get(this.store.idFromName(installationId)).clear();
  }

  /** Removes the installation's user Worker (after cleanup). */
  async retire(spec: PluginSpec): Promise<void> {
    await this.api.delete(scriptName(spec));
  }
}
