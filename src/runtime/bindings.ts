/**
 * The one binding table: what a plugin's `env` holds, for every backend alike (the Worker Loader
 * backends build the env object from it, the dispatch backend uploads it as the user Worker's
 * bindings), so a plugin sees the same names and types locally and in production. Pure.
 *
 * - `ATOLL` (json): installation facts and config, always;
 * - `STORAGE` (service → PluginStorage) with `storage`;
 * - `INTEGRATIONS` (service → IntegrationGate) with `integrations:<provider>`;
 * - `SECRET_<NAME>` (secret_text), one per granted secret that is set: one binding per secret,
 *   so each stays within Cloudflare's per-binding size limit, and only secret bindings carry them
 *   (a json binding's value can be read back through Cloudflare's API; a secret's cannot).
 *
 * The platform's own bindings (D1, R2, Durable Object namespaces) are never in it.
 */
import { BINDINGS, type InstallationFacts } from "../contract/protocol";
import { parseAll } from "../contract/permissions";
import { isolateId, type PluginSpec } from "./spec";

export type PluginBinding =
  | { type: "json"; name: string; json: InstallationFacts }
  | {
      type: "service";
      name: string;
      entrypoint: "PluginStorage" | "IntegrationGate";
      props: Record<string, unknown>;
    }
  | { type: "secret_text"; name: string; text: string };

/** The binding name of a granted secret (`secrets:API_KEY` → `SECRET_API_KEY`). */
export const secretBinding = (name: string): string => `${BINDINGS.secretPrefix}${name}`;

export function pluginBindings(spec: PluginSpec): PluginBinding[] {
  const perms = parseAll(spec.grants);
  const out: PluginBinding[] = [
    {
      type: "json",
      name: BINDINGS.facts,
      json: {
        installationId: spec.installationId,
        plugin: spec.plugin,
        version: spec.version,
        environment: spec.environment,
        config: spec.config,
      },
    },
  ];
  if (perms.some((p) => p.kind === "storage"))
    out.push({
      type: "service",
      name: BINDINGS.storage,
      entrypoint: "PluginStorage",
      props: { installationId: spec.installationId },
    });
  const providers = perms.flatMap((p) => (p.kind === "integrations" ? [p.provider as string] : []));
  if (providers.length > 0)
    out.push({
      type: "service",
      name: BINDINGS.integrations,
      entrypoint: "IntegrationGate",
      props: {
        installationId: spec.installationId,
        orgId: spec.orgId,
        environment: spec.environment,
        providers,
        isolate: isolateId(spec),
      },
    });
  for (const p of perms) {
    if (p.kind !== "secrets" || !Object.hasOwn(spec.secrets, p.name)) continue;
    const text = spec.secrets[p.name];
    if (typeof text === "string")
      out.push({ type: "secret_text", name: secretBinding(p.name), text });
  }
  return out;
}
