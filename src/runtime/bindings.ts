/**
 * The one binding table: what a plugin's `env` holds, for every backend alike (the Worker Loader
 * backends build the env object from it, the dispatch backend uploads it as the user Worker's
 * bindings), so a plugin sees the same names and types locally and in production. Pure.
 *
 * - `ATOLL` (json): installation facts and the settings that are not write-only, always;
 * - `STORAGE` (service → PluginStorage) with `storage`;
 * - `INTEGRATIONS` (service → IntegrationGate) with `integrations:<provider>`;
 * - `SECRET_<NAME>` (secret_text), one per granted secret that is set;
 * - `CONFIG_<key>` (secret_text, the setting's JSON), one per write-only setting that is set.
 *
 * One binding per secret and per write-only setting, so each stays within Cloudflare's
 * per-binding size limit, and only secret bindings carry them: a json binding's value can be read
 * back through Cloudflare's API, a secret's cannot. The platform's own bindings (D1, R2, Durable
 * Object namespaces) are never in it.
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

/** The binding name of a write-only setting (`apiKey` → `CONFIG_apiKey`). */
export const sealedConfigBinding = (key: string): string => `${BINDINGS.sealedConfigPrefix}${key}`;

/**
 * Cloudflare's limit on one binding's value is 5 KB; the platform counts 5,000 bytes of UTF-8,
 * within the limit whether a KB is 1,000 or 1,024 bytes.
 */
export const MAX_BINDING_VALUE_BYTES = 5_000;

/** Cloudflare's limit on text, secret and json bindings (environment variables) per Worker. */
export const MAX_VALUE_BINDINGS = 64;

export function pluginBindings(spec: PluginSpec): PluginBinding[] {
  const perms = parseAll(spec.grants);
  const sealed = new Set(spec.sealedConfig ?? []);
  const plain = Object.fromEntries(Object.entries(spec.config).filter(([k]) => !sealed.has(k)));
  const out: PluginBinding[] = [
    {
      type: "json",
      name: BINDINGS.facts,
      json: {
        installationId: spec.installationId,
        plugin: spec.plugin,
        version: spec.version,
        environment: spec.environment,
        config: plain,
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
  for (const key of [...sealed].sort()) {
    if (!Object.hasOwn(spec.config, key) || spec.config[key] === undefined) continue;
    out.push({
      type: "secret_text",
      name: sealedConfigBinding(key),
      text: JSON.stringify(spec.config[key]),
    });
  }
  return out;
}

/** The bytes of a json or secret_text binding's value as Cloudflare counts them (UTF-8). */
export function bindingValueBytes(b: Exclude<PluginBinding, { type: "service" }>): number {
  return new TextEncoder().encode(b.type === "json" ? JSON.stringify(b.json) : b.text).byteLength;
}

/**
 * The settings and secrets whose binding would be over MAX_BINDING_VALUE_BYTES, each named by
 * its field (`config` for the json binding of the plain settings, `config.<key>` for a write-only
 * setting, `secrets.<NAME>`), so an install or change is refused before anything is written.
 */
export function oversizedBindings(spec: PluginSpec): { path: string; message: string }[] {
  const errors: { path: string; message: string }[] = [];
  for (const b of pluginBindings(spec)) {
    if (b.type === "service") continue; // props the platform sets, a few ids
    const bytes = bindingValueBytes(b);
    if (bytes <= MAX_BINDING_VALUE_BYTES) continue;
    const path =
      b.name === BINDINGS.facts
        ? "config"
        : b.name.startsWith(BINDINGS.secretPrefix)
          ? `secrets.${b.name.slice(BINDINGS.secretPrefix.length)}`
          : b.name.startsWith(BINDINGS.sealedConfigPrefix)
            ? `config.${b.name.slice(BINDINGS.sealedConfigPrefix.length)}`
            : b.name;
    const what =
      path === "config"
        ? `the settings that are not write-only travel together as one binding (${b.name}) of ${bytes} bytes`
        : `travels as its own binding (${b.name}) of ${bytes} bytes`;
    errors.push({
      path,
      message: `${what}; a binding holds at most ${MAX_BINDING_VALUE_BYTES} bytes (Cloudflare's 5 KB per binding value)`,
    });
  }
  const values = pluginBindings(spec).filter((b) => b.type !== "service").length;
  if (values > MAX_VALUE_BINDINGS)
    errors.push({
      path: "config",
      message: `the installation's secrets and write-only settings make ${values} value bindings with ATOLL; a Worker holds at most ${MAX_VALUE_BINDINGS} (Cloudflare's limit)`,
    });
  return errors;
}
