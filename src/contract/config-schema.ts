/**
 * The restricted JSON Schema subset a manifest's `config` may use (docs/trust-model.md, "What a
 * package may contain"). The schema is written by a publisher and evaluated by the gateway on
 * every install and upgrade, against input from a tenant, so it may only use keywords whose
 * evaluation is linear in the size of the schema and of the input: no regular expressions
 * (`pattern`, `patternProperties`: the validator runs them on a backtracking engine), no
 * references (`$ref`, `$defs`: they can recurse), no conditionals or combinators. Depth, size and
 * node count are capped before anything recursive looks at the schema. Pure, no I/O.
 */
import type { NoFields, Result } from "./result";

export const CONFIG_SCHEMA_LIMITS = {
  /** Nesting of the schema as JSON (objects and arrays), root = 1. */
  maxDepth: 32,
  /** Objects, arrays and values in the schema, all together. */
  maxNodes: 2_000,
  /** The schema serialized as JSON. */
  maxBytes: 32 * 1024,
  maxEnum: 100,
  /** `uniqueItems` compares every pair of items, so it needs `maxItems` at most this. */
  maxUniqueItems: 100,
} as const;

/** Formats whose checks in @cfworker/json-schema are anchored regexes without nested quantifiers or plain code. */
export const CONFIG_FORMATS = [
  "date",
  "time",
  "date-time",
  "duration",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "uuid",
] as const;

/** The name of a write-only setting: it is also a binding name (`CONFIG_<name>`). */
export const SEALED_SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"];

/** Keywords outside the subset, with the reason a publisher is told. */
const REFUSED: Record<string, string> = {
  pattern:
    "regular expressions run on a backtracking engine (exponential on some inputs); use enum, format or length bounds",
  patternProperties:
    "regular expressions run on a backtracking engine (exponential on some inputs); list the properties",
  $ref: "references can recurse; write the schema out",
  $defs: "references can recurse; write the schema out",
  definitions: "references can recurse; write the schema out",
  $dynamicRef: "references can recurse; write the schema out",
  if: "conditionals are not supported",
  then: "conditionals are not supported",
  else: "conditionals are not supported",
  dependentSchemas: "conditionals are not supported",
  dependentRequired: "conditionals are not supported",
  dependencies: "conditionals are not supported",
};

export type SchemaCheck = Result<NoFields, { keyword: string; pointer: string; message: string }>;

const escapePointer = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** One line for a refusal: the keyword, its JSON pointer inside the schema, and why. */
export function describeSchemaRefusal(r: {
  keyword: string;
  pointer: string;
  message: string;
}): string {
  return `"${r.keyword}" at ${r.pointer || "/"}: ${r.message}`;
}

/** Depth and node count, without recursion (a 10,000-deep schema must not overflow the stack). */
function checkShape(schema: unknown): SchemaCheck {
  const stack: { value: unknown; pointer: string; key: string; depth: number }[] = [
    { value: schema, pointer: "", key: "config", depth: 1 },
  ];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, pointer, key, depth } = stack.pop() as (typeof stack)[number];
    if (++nodes > CONFIG_SCHEMA_LIMITS.maxNodes)
      return {
        ok: false,
        keyword: "config",
        pointer: "",
        message: `the schema has more than ${CONFIG_SCHEMA_LIMITS.maxNodes} nodes`,
      };
    if (typeof value !== "object" || value === null) continue;
    if (depth > CONFIG_SCHEMA_LIMITS.maxDepth)
      return {
        ok: false,
        keyword: key,
        pointer,
        message: `the schema nests deeper than ${CONFIG_SCHEMA_LIMITS.maxDepth} levels`,
      };
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value);
    for (const [k, v] of entries)
      stack.push({ value: v, pointer: `${pointer}/${escapePointer(k)}`, key: k, depth: depth + 1 });
  }
  if (JSON.stringify(schema).length > CONFIG_SCHEMA_LIMITS.maxBytes)
    return {
      ok: false,
      keyword: "config",
      pointer: "",
      message: `the schema is larger than ${CONFIG_SCHEMA_LIMITS.maxBytes} bytes as JSON`,
    };
  return { ok: true };
}

/** A subschema: an object in the subset, or true/false. */
function checkSubschema(schema: unknown, pointer: string, topProperty: boolean): SchemaCheck {
  if (typeof schema === "boolean") return { ok: true };
  if (!isObject(schema))
    return {
      ok: false,
      keyword: pointer.split("/").pop() ?? "",
      pointer,
      message: "must be a schema (an object, or true/false)",
    };
  const bad = (keyword: string, message: string): SchemaCheck => ({
    ok: false,
    keyword,
    pointer: `${pointer}/${escapePointer(keyword)}`,
    message,
  });
  for (const [keyword, value] of Object.entries(schema)) {
    switch (keyword) {
      case "title":
      case "description":
        if (typeof value !== "string") return bad(keyword, "must be a string");
        break;
      case "default":
      case "const":
        break;
      case "examples":
        if (!Array.isArray(value)) return bad(keyword, "must be an array");
        break;
      case "writeOnly":
        if (typeof value !== "boolean") return bad(keyword, "must be true or false");
        if (value && !topProperty)
          return bad(
            keyword,
            "marks a secret only on a property of the top-level object; a nested setting would be stored and returned in plain",
          );
        break;
      case "type": {
        const types = Array.isArray(value) ? value : [value];
        if (
          types.length === 0 ||
          types.some((t) => typeof t !== "string" || !TYPES.includes(t)) ||
          new Set(types).size !== types.length
        )
          return bad(keyword, `must be one of ${TYPES.join(", ")}, or a list of them`);
        break;
      }
      case "properties": {
        if (!isObject(value)) return bad(keyword, "must be an object of schemas");
        for (const [name, sub] of Object.entries(value)) {
          if (name === "__proto__")
            return bad(keyword, 'may not define a property named "__proto__"');
          if (
            pointer === "" &&
            isObject(sub) &&
            sub.writeOnly === true &&
            !SEALED_SETTING_NAME.test(name)
          )
            return {
              ok: false,
              keyword: "writeOnly",
              pointer: `/properties/${escapePointer(name)}/writeOnly`,
              message:
                "a write-only setting becomes the binding CONFIG_<name>, so its name is letters, digits and _, starting with a letter or _, at most 64 characters",
            };
          const r = checkSubschema(
            sub,
            `${pointer}/properties/${escapePointer(name)}`,
            pointer === "",
          );
          if (!r.ok) return r;
        }
        break;
      }
      case "additionalProperties":
      case "items": {
        if (keyword === "items" && Array.isArray(value))
          return bad(keyword, "must be one schema (tuples are not supported)");
        const r = checkSubschema(value, `${pointer}/${keyword}`, false);
        if (!r.ok) return r;
        break;
      }
      case "required":
        if (
          !Array.isArray(value) ||
          value.some((v) => typeof v !== "string") ||
          new Set(value).size !== value.length
        )
          return bad(keyword, "must be a list of distinct property names");
        break;
      case "enum":
        if (
          !Array.isArray(value) ||
          value.length === 0 ||
          value.length > CONFIG_SCHEMA_LIMITS.maxEnum
        )
          return bad(keyword, `must be a list of 1 to ${CONFIG_SCHEMA_LIMITS.maxEnum} values`);
        break;
      case "minimum":
      case "maximum":
      case "exclusiveMinimum":
      case "exclusiveMaximum":
        if (typeof value !== "number" || !Number.isFinite(value))
          return bad(keyword, "must be a number");
        break;
      case "multipleOf":
        if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
          return bad(keyword, "must be a number above 0");
        break;
      case "minLength":
      case "maxLength":
      case "minItems":
      case "maxItems":
        if (!isCount(value)) return bad(keyword, "must be a non-negative integer");
        break;
      case "uniqueItems":
        if (typeof value !== "boolean") return bad(keyword, "must be true or false");
        if (
          value &&
          !(
            isCount(schema.maxItems) &&
            (schema.maxItems as number) <= CONFIG_SCHEMA_LIMITS.maxUniqueItems
          )
        ) {
          return bad(
            keyword,
            `compares every pair of items, so it needs maxItems of at most ${CONFIG_SCHEMA_LIMITS.maxUniqueItems} beside it`,
          );
        }
        break;
      case "format":
        if (typeof value !== "string" || !(CONFIG_FORMATS as readonly string[]).includes(value))
          return bad(keyword, `must be one of ${CONFIG_FORMATS.join(", ")}`);
        break;
      default:
        return bad(
          keyword,
          REFUSED[keyword] ??
            "is not in the supported subset of JSON Schema (see docs/trust-model.md)",
        );
    }
  }
  return { ok: true };
}

/**
 * Whether a manifest's `config` schema stays inside the subset. The root must be an object
 * schema (`type: "object"`): settings are an object, and its direct properties are where
 * `writeOnly` marks secrets.
 * @example checkConfigSchema({ type: "object", properties: { name: { pattern: "^(a+)+$" } } })
 * // { ok: false, keyword: "pattern", pointer: "/properties/name/pattern", message: "…" }
 */
export function checkConfigSchema(schema: unknown): SchemaCheck {
  const shape = checkShape(schema);
  if (!shape.ok) return shape;
  if (!isObject(schema) || schema.type !== "object")
    return {
      ok: false,
      keyword: "type",
      pointer: "/type",
      message: 'the top level must be an object schema (type: "object")',
    };
  return checkSubschema(schema, "", false);
}

/**
 * Whether a schema a manifest declares for a route (its parameters, query, body or responses)
 * stays inside the same subset as `config`; any root type.
 */
export function checkSchema(schema: unknown): SchemaCheck {
  const shape = checkShape(schema);
  if (!shape.ok) return shape;
  return checkSubschema(schema, "", false);
}

/**
 * The first array in `value` longer than its schema's `maxItems` (as a dotted path), or null.
 * Checked before the validator runs: it evaluates `uniqueItems` (quadratic) on arrays of any
 * length, even ones that already broke `maxItems`. Follows only properties,
 * additionalProperties and items, so its depth is the schema's (capped above).
 */
export function overlongArray(schema: unknown, value: unknown, path = "config"): string | null {
  if (!isObject(schema)) return null;
  if (Array.isArray(value)) {
    if (isCount(schema.maxItems) && value.length > (schema.maxItems as number)) return path;
    for (let i = 0; i < value.length; i++) {
      const found = overlongArray(schema.items, value[i], `${path}.${i}`);
      if (found) return found;
    }
  } else if (isObject(value)) {
    const props = isObject(schema.properties) ? schema.properties : {};
    for (const [key, item] of Object.entries(value)) {
      const found = overlongArray(
        Object.hasOwn(props, key) ? props[key] : schema.additionalProperties,
        item,
        `${path}.${key}`,
      );
      if (found) return found;
    }
  }
  return null;
}
