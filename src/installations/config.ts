/**
 * Installation settings (pure): validated against the manifest's `config` JSON Schema, with
 * properties marked `writeOnly` treated as secrets (stored encrypted, never returned), and the
 * `secrets:<NAME>` values checked against the granted permissions.
 */
import { Validator } from "@cfworker/json-schema";
import { checkConfigSchema, describeSchemaRefusal, overlongArray } from "../contract/config-schema";
import { parseAll } from "../contract/permissions";

export type ConfigResult =
  | { ok: true; plain: Record<string, unknown>; sealedConfig: Record<string, unknown> }
  | { ok: false; errors: { path: string; message: string }[] };

export function validateConfig(
  schema: Record<string, unknown> | undefined,
  config: Record<string, unknown>,
): ConfigResult {
  if (!schema) {
    return Object.keys(config).length === 0
      ? { ok: true, plain: {}, sealedConfig: {} }
      : { ok: false, errors: [{ path: "config", message: "this plugin takes no configuration" }] };
  }
  // Publish refuses schemas outside the subset; this also covers versions stored before it did.
  const supported = checkConfigSchema(schema);
  if (!supported.ok)
    return {
      ok: false,
      errors: [
        {
          path: "config",
          message: `the plugin's configuration schema is not supported (${describeSchemaRefusal(supported)}); the publisher must release a new version`,
        },
      ],
    };
  const overlong = overlongArray(schema, config);
  if (overlong)
    return {
      ok: false,
      errors: [{ path: overlong, message: "has more items than the schema allows (maxItems)" }],
    };
  const result = new Validator(schema as never, "2020-12", false).validate(config);
  if (!result.valid) {
    const errors = result.errors
      .filter((e) => e.keyword !== "properties" && e.keyword !== "allOf")
      .map((e) => ({
        path: "config" + e.instanceLocation.replace(/^#/, "").replace(/\//g, "."),
        message: e.error,
      }));
    return {
      ok: false,
      errors:
        errors.length > 0
          ? errors
          : [{ path: "config", message: "does not match the plugin's configuration schema" }],
    };
  }
  const props = (schema.properties ?? {}) as Record<string, { writeOnly?: boolean }>;
  const plain: Record<string, unknown> = {};
  const sealedConfig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) (props[k]?.writeOnly ? sealedConfig : plain)[k] = v;
  return { ok: true, plain, sealedConfig };
}

/** Secrets given at install must be exactly the `secrets:<NAME>` permissions granted. */
export function checkSecrets(
  grants: readonly string[],
  secrets: Record<string, string>,
): { path: string; message: string }[] {
  const names = parseAll(grants).flatMap((p) => (p.kind === "secrets" ? [p.name] : []));
  const errors: { path: string; message: string }[] = [];
  for (const n of names)
    if (!(n in secrets))
      errors.push({ path: `secrets.${n}`, message: `required by the permission secrets:${n}` });
  for (const n of Object.keys(secrets))
    if (!names.includes(n))
      errors.push({ path: `secrets.${n}`, message: "not a granted secrets: permission" });
  return errors;
}

/** The config as shown to callers: writeOnly settings are never returned. */
export function redactConfig(
  schema: Record<string, unknown> | undefined,
  config: Record<string, unknown>,
): Record<string, unknown> {
  const props = ((schema ?? {}).properties ?? {}) as Record<string, { writeOnly?: boolean }>;
  return Object.fromEntries(Object.entries(config).filter(([k]) => !props[k]?.writeOnly));
}
