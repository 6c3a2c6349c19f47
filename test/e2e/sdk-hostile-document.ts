/**
 * A hostile OpenAPI document: every string that reaches generated code is stuffed with breakouts
 * for every language's comments, strings, docstrings and identifiers. Each payload, if it ever
 * escaped its context, would print a `PWNED` marker or create the canary file.
 */
import type { OpenApiDocument } from "../../src/portal/codegen/spec";

/** Breakouts of every context in every target language, each one printing PWNED-<tag>. */
export function evil(tag: string, canary: string): string {
  return [
    `x */ process.stdout.write("PWNED-${tag}-js-comment"); /*`,
    `\n process.stdout.write("PWNED-${tag}-js-newline");`,
    `\u2028 process.stdout.write("PWNED-${tag}-js-ls"); \u2029 process.stdout.write("PWNED-${tag}-js-ps");`,
    `\n import os; os.system("echo PWNED-${tag}-py > ${canary}")`,
    `\r__import__("os").system("echo PWNED-${tag}-py-cr > ${canary}")`,
    `""" ; print("PWNED-${tag}-py-docstring") ; """`,
    `''' ; print("PWNED-${tag}-py-single") ; '''`,
    `\\u000a System.out.println("PWNED-${tag}-java-unicode");`,
    `\\u002a/ static { System.out.println("PWNED-${tag}-java-unicode-close"); } /*`,
    `*/ static { System.out.println("PWNED-${tag}-java-close"); } /*`,
    `\\ " + process.stdout.write("PWNED-${tag}-js-string") + " '`,
    `" + System.out.println("PWNED-${tag}-java-string") + "`,
    `\${process.stdout.write("PWNED-${tag}-js-template")} \`backtick\``,
    `{__import__("os").system("echo PWNED-${tag}-py-fstring > ${canary}")}`,
    `# @param <script>alert(1)</script> & \u0000 \u0085 \u202e \ufeff \\`,
  ].join(" ");
}

export function hostileDocument(canary: string): OpenApiDocument {
  const e = (tag: string) => evil(tag, canary);
  const weirdProps = {
    "a-b": { type: "string", description: e("prop-description") },
    class: { type: "string" },
    ["__proto__"]: { type: "string" },
    constructor: { type: "integer" },
    toString: { type: "boolean" },
    "": { type: "string" },
    "1st": { type: "string" },
    [e("prop-name")]: { type: "string", enum: [e("enum-1"), "plain"] },
    self: { type: "string" },
    a_b: { type: "string" },
    aB: { type: "string" },
  };
  const doc = {
    openapi: "3.1.0",
    info: { title: e("title"), version: "1.0.0", description: e("info-description") },
    paths: {
      [`/v1/x/{id}"; evil(); "`]: {
        post: {
          operationId: e("operation-id"),
          summary: e("summary"),
          description: e("description"),
          tags: [e("tag")],
          security: [{ apiKey: [] }],
          parameters: [
            { name: "id", in: "path", required: true, schema: { type: "string" } },
            { name: e("query-name"), in: "query", schema: { type: "string", enum: [e("enum-q")] } },
            { name: "Idempotency-Key", in: "header", required: true, schema: { type: "string" } },
            { name: `x-${e("header-name")}`, in: "header", schema: { type: "string" } },
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  description: e("body-description"),
                  properties: weirdProps,
                  required: ["a-b", "class", e("prop-name")],
                },
              },
            },
          },
          responses: {
            "200": {
              description: e("response"),
              content: {
                "application/json": {
                  schema: { $ref: `#/components/schemas/${e("schema-name")}` },
                },
              },
            },
          },
        },
      },
      // A hostile parameter *name* (braces aside: a literal part of a path may not hold control
      // characters, `\\`, `%`, `?`, `#` or dot segments, and such operations are not generated).
      [`/v1/y/{${e("path-param").replace(/[{}]/g, "")}}/{class}/{__proto__}`]: {
        get: {
          operationId: "request",
          summary: e("summary-2"),
          tags: ["class"],
          security: [],
          parameters: [{ name: "cursor", in: "query", schema: { type: "string" } }],
          responses: {
            "200": {
              description: "ok",
              content: {
                "application/json": {
                  schema: {
                    anyOf: [{ $ref: "#/components/schemas/Atoll" }, { type: "null" }],
                  },
                },
              },
            },
          },
        },
        delete: {
          operationId: "request ",
          tags: [e("tag")],
          responses: { "204": { description: "gone" } },
        },
      },
      // Parameter and property names equal to the generated code's own locals and helpers.
      "/v1/z/{cursor}/{segment}/{page}/{body}/{options}/{x0}/{r}/{q}/{m}/{json}/{self}/{query}": {
        get: {
          operationId: "fetcher",
          security: [],
          parameters: [{ name: "cursor", in: "query", schema: { type: "string" } }],
          responses: {
            "200": {
              description: "ok",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Locals" } } },
            },
          },
        },
      },
      [`/v1/upload/${e("path-literal").replace(/[{}]/g, "")}`]: {
        put: {
          operationId: "constructor",
          summary: "*/",
          requestBody: {
            content: {
              [`application/${e("media")}`]: { schema: { type: "string", format: "binary" } },
            },
          },
          responses: {
            "200": {
              description: "bytes",
              content: {
                "application/zip": {
                  schema: { type: "string", contentMediaType: "application/zip" },
                },
              },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        [e("schema-name")]: {
          type: "object",
          description: e("schema-description"),
          properties: weirdProps,
          required: ["a-b"],
        },
        Atoll: {
          type: "object",
          properties: { Json: { type: "string" }, String: { type: "string" } },
        },
        "a b": { type: "object", properties: { x: { $ref: "#/components/schemas/A-B" } } },
        "A-B": {
          type: "object",
          properties: { y: { type: "string", enum: ['"', "\\", "\n", "'''", "${x}"] } },
        },
        class: { type: "string", enum: [e("enum-schema")] },
        ["__proto__"]: { anyOf: [{ $ref: "#/components/schemas/class" }, { type: "null" }] },
        Locals: {
          type: "object",
          properties: {
            m: { type: "string" },
            json: { type: "string" },
            $m: { type: "string" },
            x0: { type: "array", items: { type: "array", items: { type: "string" } } },
            nextCursor: { type: ["string", "null"] },
          },
          required: ["m"],
        },
        String: { type: "object", properties: { value: { type: "string" } } },
        Json: { type: "object", properties: { value: { type: "string" } } },
      },
      securitySchemes: {
        apiKey: { type: "apiKey" },
        oauth2: {
          type: "oauth2",
          flows: { clientCredentials: { tokenUrl: `/oauth/token"; ${e("token-url")}` } },
        },
      },
    },
  };
  return doc as unknown as OpenApiDocument;
}
