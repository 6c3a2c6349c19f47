import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/installations/config";
import {
  CONFIG_SCHEMA_LIMITS,
  checkConfigSchema,
  overlongArray,
} from "../../src/contract/config-schema";

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "object",
  properties,
  ...extra,
});

/** `{ type: "object", properties: { a: { type: "object", properties: { a: … } } } }`, n levels. */
function nested(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < levels; i++) schema = { type: "object", properties: { a: schema } };
  return schema;
}

describe("manifest config schema subset", () => {
  it("accepts the documented subset", () => {
    const schema = obj(
      {
        greeting: {
          type: "string",
          minLength: 1,
          maxLength: 40,
          default: "Hello",
          title: "Greeting",
          description: "Said first",
          examples: ["Hi"],
        },
        apiKey: { type: "string", writeOnly: true },
        mode: { enum: ["a", "b"] },
        fixed: { const: 3 },
        ratio: {
          type: "number",
          minimum: 0,
          maximum: 1,
          exclusiveMinimum: 0,
          exclusiveMaximum: 2,
          multipleOf: 0.25,
        },
        count: { type: ["integer", "null"] },
        tags: {
          type: "array",
          items: { type: "string", format: "email" },
          minItems: 0,
          maxItems: 10,
          uniqueItems: true,
        },
        when: { type: "string", format: "date-time" },
        nested: {
          type: "object",
          properties: { on: { type: "boolean" } },
          required: ["on"],
          additionalProperties: false,
        },
        free: { type: "object", additionalProperties: { type: "string" } },
        anything: true,
      },
      { required: ["greeting"], additionalProperties: false },
    );
    expect(checkConfigSchema(schema)).toEqual({ ok: true });
  });

  it.each([
    [
      "a catastrophic-backtracking pattern",
      obj({ name: { type: "string", pattern: "^(a+)+$" } }),
      "pattern",
      "/properties/name/pattern",
    ],
    [
      "an invalid regex",
      obj({ name: { type: "string", pattern: "([" } }),
      "pattern",
      "/properties/name/pattern",
    ],
    [
      "patternProperties",
      obj({}, { patternProperties: { "^x": { type: "string" } } }),
      "patternProperties",
      "/patternProperties",
    ],
    ["a recursive $ref", obj({ node: { $ref: "#" } }), "$ref", "/properties/node/$ref"],
    ["$defs", obj({}, { $defs: { a: { type: "string" } } }), "$defs", "/$defs"],
    [
      "if/then/else",
      obj({ a: { if: { const: 1 }, then: { const: 1 } } }),
      "if",
      "/properties/a/if",
    ],
    [
      "dependentRequired",
      obj({}, { dependentRequired: { a: ["b"] } }),
      "dependentRequired",
      "/dependentRequired",
    ],
    [
      "anyOf (not in the subset)",
      obj({ a: { anyOf: [{ type: "string" }] } }),
      "anyOf",
      "/properties/a/anyOf",
    ],
    [
      "a format outside the fixed list (url: its regex backtracks)",
      obj({ a: { type: "string", format: "url" } }),
      "format",
      "/properties/a/format",
    ],
    [
      "format: regex (compiles tenant input)",
      obj({ a: { type: "string", format: "regex" } }),
      "format",
      "/properties/a/format",
    ],
    [
      "uniqueItems without a small maxItems",
      obj({ a: { type: "array", uniqueItems: true } }),
      "uniqueItems",
      "/properties/a/uniqueItems",
    ],
    [
      "uniqueItems with a large maxItems",
      obj({ a: { type: "array", uniqueItems: true, maxItems: 100_000 } }),
      "uniqueItems",
      "/properties/a/uniqueItems",
    ],
    [
      "writeOnly on a nested setting (it would be stored in plain)",
      obj({ a: { type: "object", properties: { key: { type: "string", writeOnly: true } } } }),
      "writeOnly",
      "/properties/a/properties/key/writeOnly",
    ],
    [
      "a write-only setting whose name is no binding name (CONFIG_<name>)",
      obj({ "api-key": { type: "string", writeOnly: true } }),
      "writeOnly",
      "/properties/api-key/writeOnly",
    ],
    [
      "a write-only setting with a name over 64 characters",
      obj({ ["k".repeat(65)]: { type: "string", writeOnly: true } }),
      "writeOnly",
      `/properties/${"k".repeat(65)}/writeOnly`,
    ],
    ["an unknown type", obj({ a: { type: "date" } }), "type", "/properties/a/type"],
    [
      "a tuple items",
      obj({ a: { type: "array", items: [{ type: "string" }] } }),
      "items",
      "/properties/a/items",
    ],
    [
      "a huge enum",
      obj({ a: { enum: Array.from({ length: 101 }, (_, i) => i) } }),
      "enum",
      "/properties/a/enum",
    ],
    [
      "a negative maxLength",
      obj({ a: { type: "string", maxLength: -1 } }),
      "maxLength",
      "/properties/a/maxLength",
    ],
    [
      "a __proto__ property",
      JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}') as unknown,
      "properties",
      "/properties",
    ],
    [
      "a pointer that needs escaping",
      obj({ "a/b~c": { pattern: "x" } }),
      "pattern",
      "/properties/a~1b~0c/pattern",
    ],
    ["a root that is not an object schema", { type: "string" }, "type", "/type"],
  ])("refuses %s, naming the keyword and its JSON pointer", (_label, schema, keyword, pointer) => {
    expect(checkConfigSchema(schema)).toMatchObject({ ok: false, keyword, pointer });
  });

  it("refuses a 10,000-deep nesting without recursing into it", () => {
    const r = checkConfigSchema(nested(10_000));
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/deeper than 32 levels/) });
    expect(checkConfigSchema(nested(15))).toEqual({ ok: true });
  });

  it("refuses huge schemas by node count and by size", () => {
    const many = obj(
      Object.fromEntries(
        Array.from({ length: CONFIG_SCHEMA_LIMITS.maxNodes }, (_, i) => [
          `p${i}`,
          { type: "string" },
        ]),
      ),
    );
    expect(checkConfigSchema(many)).toMatchObject({
      ok: false,
      keyword: "config",
      message: expect.stringMatching(/nodes/),
    });
    const big = obj({
      a: { type: "string", description: "x".repeat(CONFIG_SCHEMA_LIMITS.maxBytes) },
    });
    expect(checkConfigSchema(big)).toMatchObject({
      ok: false,
      keyword: "config",
      message: expect.stringMatching(/bytes/),
    });
  });
});

describe("config validation at install", () => {
  it("refuses to evaluate a schema outside the subset (a version stored before the rule)", () => {
    const evil = obj({ name: { type: "string", pattern: "^(a+)+$" } });
    const r = validateConfig(evil, { name: `${"a".repeat(40)}!` });
    expect(r).toMatchObject({
      ok: false,
      errors: [
        {
          path: "config",
          message: expect.stringMatching(/"pattern" at \/properties\/name\/pattern/),
        },
      ],
    });
  });

  it("refuses an array past maxItems before uniqueItems compares every pair", () => {
    const schema = obj({
      tags: { type: "array", maxItems: 5, uniqueItems: true, items: { type: "integer" } },
    });
    const r = validateConfig(schema, { tags: Array.from({ length: 30_000 }, (_, i) => i) });
    expect(r).toMatchObject({ ok: false, errors: [{ path: "config.tags" }] });
    expect(validateConfig(schema, { tags: [1, 2, 3] })).toMatchObject({ ok: true });
    expect(validateConfig(schema, { tags: [1, 1] })).toMatchObject({ ok: false });
  });

  it("finds overlong arrays through properties, additionalProperties and items", () => {
    const schema = obj(
      { a: { type: "array", items: { type: "array", maxItems: 1 } } },
      { additionalProperties: { type: "array", maxItems: 0 } },
    );
    expect(overlongArray(schema, { a: [[1], [1, 2]] })).toBe("config.a.1");
    expect(overlongArray(schema, { other: [1] })).toBe("config.other");
    expect(overlongArray(schema, { a: [[1]] })).toBeNull();
  });
});
