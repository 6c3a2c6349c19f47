/**
 * Finishing touches on the generated OpenAPI document, pure and separately tested: what the
 * route definitions say, written the way client generators read it.
 */
import type { JsonSchema, OpenApiDocument } from "./codegen/spec";

type Node = JsonSchema & Record<string, unknown>;

const isNullableObject = (s: JsonSchema) =>
  Object.keys(s).every((k) => k === "type" || k === "nullable") &&
  ((Array.isArray(s.type) && s.type.includes("null")) || s.nullable === true);

/**
 * A nullable reference comes out of zod as `allOf: [{$ref}, {type: ["object", "null"]}]`, which
 * can never be null (the reference is an object). Generators see `anyOf: [{$ref}, {type: "null"}]`.
 */
function nullableReference(s: Node): Node {
  const all = s.allOf;
  if (!all || all.length !== 2) return s;
  const ref = all.find((x) => x.$ref && Object.keys(x).length === 1);
  const other = all.find((x) => x !== ref);
  if (!ref || !other || !isNullableObject(other)) return s;
  const { allOf: _, ...rest } = s;
  return { ...rest, anyOf: [ref, { type: "null" }] };
}

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (!value || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = walk(v);
  return nullableReference(out as Node);
}

/**
 * A query, path or header parameter is a string or absent, never JSON `null`: zod's coercions
 * come out as `type: ["integer", "null"]`, which typed clients turn into `number | null`.
 */
function parameterTypes(doc: OpenApiDocument): void {
  for (const ops of Object.values(doc.paths)) {
    for (const op of Object.values(ops)) {
      for (const param of op.parameters ?? []) {
        const schema = param.schema;
        if (!schema || !Array.isArray(schema.type)) continue;
        const rest = schema.type.filter((t) => t !== "null");
        schema.type = rest.length === 1 ? rest[0] : rest;
      }
    }
  }
}

/**
 * The document as generators should read it: every nullable reference written as `anyOf` with
 * `null`, and no parameter typed nullable.
 */
export function finishedDocument<T extends OpenApiDocument>(doc: T): T {
  const out = walk(doc) as T;
  parameterTypes(out);
  return out;
}
