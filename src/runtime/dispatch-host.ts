/**
 * The production backend: each installation revision is a user Worker in the Workers for
 * Platforms dispatch namespace, uploaded through the Cloudflare API when the installation is
 * created (its bindings are the installation's: ATOLL facts and config, its secrets, and a
 * STORAGE service binding to this Worker's PluginStorage entrypoint with the installation's id as
 * props). Calls go through `DISPATCHER.get(name, {}, { limits, outbound })`: the platform's caps
 * on CPU and subrequests, and the outbound Worker's parameters (the granted hosts).
 */
import { BINDINGS, type InstallationFacts } from "../contract/protocol";
import { parseAll } from "../contract/permissions";
import type { ScriptBinding, ScriptsApi } from "./cloudflare-api";
import type { PluginHost } from "./host";
import { networkHosts } from "./loader-host";
import { loadModules } from "./packages";
import { PLUGIN_COMPATIBILITY_DATE, type PluginSpec } from "./spec";
import type { InstallationStore } from "./storage";

/** The user Worker's name: one per installation revision (≤ 63 characters). */
export function scriptName(spec: Pick<PluginSpec, "installationId" | "revision">): string {
  return `atoll-${spec.installationId.slice(4)}-${spec.revision.toString(36)}`.toLowerCase();
}

/** The bindings a user Worker gets: only what the installation's grants allow. */
export function scriptBindings(spec: PluginSpec, platformService: string): ScriptBinding[] {
  const perms = parseAll(spec.grants);
  const bindings: ScriptBinding[] = [
    {
      type: "json",
      name: BINDINGS.facts,
      json: {
        installationId: spec.installationId,
        plugin: spec.plugin,
        version: spec.version,
        environment: spec.environment,
        config: spec.config,
      } satisfies InstallationFacts,
    },
  ];
  if (perms.some((p) => p.kind === "storage")) {
    bindings.push({
      type: "service",
      name: BINDINGS.storage,
      service: platformService,
      entrypoint: "PluginStorage",
      props: { installationId: spec.installationId },
    });
  }
  const secrets = perms.flatMap((p) =>
    p.kind === "secrets" && p.name in spec.secrets ? [p.name] : [],
  );
  if (secrets.length > 0) {
    bindings.push({
      type: "secret_text",
      name: BINDINGS.secretsText,
      text: JSON.stringify(Object.fromEntries(secrets.map((n) => [n, spec.secrets[n]]))),
    });
  }
  return bindings;
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
      modules: await loadModules(this.packages, spec.sha256),
      compatibilityDate: PLUGIN_COMPATIBILITY_DATE,
      bindings: scriptBindings(spec, this.platformService),
      tags: [
        "atoll",
        `plugin:${spec.plugin}`,
        `version:${spec.version}`,
        `installation:${spec.installationId}`,
        `org:${spec.orgId}`,
      ],
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
