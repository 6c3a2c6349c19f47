/**
 * The Java SDK (JDK 17, java.net.http, no dependencies): records for the named schemas with
 * `fromJson`, one method per operation on `Atoll` (typed when the answer is a named schema),
 * API-key or OAuth client-credentials auth, retries honouring Retry-After, `…Pages` iterators for
 * cursor-paged operations, `AtollException` for problem documents.
 */
import { CLIENT_RUNTIME, EXCEPTION_JAVA, JSON_JAVA } from "./java-runtime";
import {
  camel,
  nullability,
  operationsOf,
  pagination,
  refName,
  schemasOf,
  type JsonSchema,
  type OpenApiDocument,
  type Operation,
} from "./spec";

const PKG = "dev.atoll.client";
const RESERVED = new Set(
  "abstract assert boolean break byte case catch char class const continue default do double else enum extends final finally float for goto if implements import instanceof int interface long native new package private protected public return short static strictfp super switch synchronized this throw throws transient try void volatile while record var yield sealed permits true false null".split(
    " ",
  ),
);
const ident = (text: string) => {
  const c = camel(text) || "value";
  const safe = /^[0-9]/.test(c) ? `_${c}` : c;
  return RESERVED.has(safe) ? `${safe}_` : safe;
};

/** The Java type of a schema and the expression converting a parsed JSON value `v` to it. */
function javaOf(
  s: JsonSchema | undefined,
  models: Set<string>,
  v: string,
): { type: string; conv: string } {
  if (!s) return { type: "Object", conv: v };
  if (s.$ref) {
    const name = refName(s.$ref);
    return models.has(name)
      ? { type: name, conv: `(${v} == null ? null : ${name}.fromJson(${v}))` }
      : { type: "Object", conv: v };
  }
  const { schema } = nullability(s);
  if (schema.$ref) return javaOf(schema, models, v);
  if (schema.anyOf || schema.oneOf || schema.allOf) return { type: "Object", conv: v };
  const t = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (t) {
    case "string":
      return { type: "String", conv: `Json.str(${v})` };
    case "integer":
      return { type: "Long", conv: `Json.lng(${v})` };
    case "number":
      return { type: "Double", conv: `Json.dbl(${v})` };
    case "boolean":
      return { type: "Boolean", conv: `Json.bool(${v})` };
    case "array": {
      const item = javaOf(schema.items, models, "x");
      return {
        type: `List<${item.type}>`,
        conv: `(Json.list(${v}) == null ? null : Json.list(${v}).stream().map(x -> ${item.conv}).collect(java.util.stream.Collectors.toList()))`,
      };
    }
    case "object":
      return { type: "Map<String, Object>", conv: `(${v} == null ? null : Json.obj(${v}))` };
    default:
      return { type: "Object", conv: v };
  }
}

function record(name: string, s: JsonSchema, models: Set<string>): string {
  const props = Object.entries(s.properties ?? {});
  const fields = props.map(([k, v]) => ({
    json: k,
    name: ident(k),
    ...javaOf(v, models, `m.get(${JSON.stringify(k)})`),
  }));
  const unique = new Set<string>();
  for (const f of fields) {
    while (unique.has(f.name)) f.name += "_";
    unique.add(f.name);
  }
  return `package ${PKG}.models;

import ${PKG}.Json;
import java.util.List;
import java.util.Map;

/** ${(s.description ?? name).replace(/\*\//g, "* /")} */
public record ${name}(${fields.map((f) => `${f.type} ${f.name}`).join(", ")}) {
  public static ${name} fromJson(Object json) {
    Map<String, Object> m = Json.obj(json);
    return new ${name}(${fields.map((f) => f.conv).join(", ")});
  }
}
`;
}

function method(op: Operation, models: Set<string>): string {
  const res = op.response ? javaOf(op.response, models, "r") : { type: "void", conv: "" };
  const params = op.pathParams.map((p) => `String ${ident(p.name)}`);
  if (op.body) params.push("Object body");
  const full = [
    ...params,
    ...(op.query.length ? ["Map<String, ?> query"] : []),
    ...(op.headers.length ? ["Map<String, String> headers"] : []),
  ];
  const path =
    `"${op.path.replace(/\{([^}]+)\}/g, (_m, n: string) => `" + seg(${ident(n)}) + "`)}"`.replace(
      / \+ ""$/,
      "",
    );
  const call = `request(${JSON.stringify(op.method)}, ${path}, ${op.query.length ? "query" : "null"}, ${op.headers.length ? "headers" : "null"}, ${op.body ? "body" : "null"}, ${op.authenticated})`;
  const doc = `  /** ${op.method} ${op.path.replace(/\*\//g, "* /")}${op.summary ? ` — ${op.summary.replace(/\*\//g, "* /").replace(/[<>&]/g, " ")}` : ""} */`;
  const body =
    res.type === "void" ? `    ${call};` : `    Object r = ${call};\n    return ${res.conv};`;
  const lines = [doc, `  public ${res.type} ${ident(op.id)}(${full.join(", ")}) {`, body, "  }"];
  if (full.length !== params.length) {
    lines.push(
      `  public ${res.type} ${ident(op.id)}(${params.join(", ")}) {`,
      `    ${res.type === "void" ? "" : "return "}${ident(op.id)}(${[...params.map((p) => p.split(" ").pop()), ...(op.query.length ? ["null"] : []), ...(op.headers.length ? ["null"] : [])].join(", ")});`,
      "  }",
    );
  }
  const page = pagination(op);
  if (page && op.response && op.query.length) {
    lines.push(
      `  /** Every page of ${ident(op.id)}, following ${page.field}. */`,
      `  public Iterable<${res.type}> ${ident(op.id)}Pages(${[...params, "Map<String, ?> query"].join(", ")}) {`,
      `    return () -> new java.util.Iterator<${res.type}>() {`,
      `      private Object cursor = query == null ? null : query.get(${JSON.stringify(page.param)});`,
      `      private boolean done = false;`,
      `      public boolean hasNext() { return !done; }`,
      `      public ${res.type} next() {`,
      `        Map<String, Object> q = new LinkedHashMap<>();`,
      `        if (query != null) q.putAll(query);`,
      `        q.put(${JSON.stringify(page.param)}, cursor);`,
      `        Object r = request(${JSON.stringify(op.method)}, ${path}, q, null, ${op.body ? "body" : "null"}, ${op.authenticated});`,
      `        cursor = Json.obj(r).get(${JSON.stringify(page.field)});`,
      `        done = cursor == null;`,
      `        return ${res.conv};`,
      `      }`,
      `    };`,
      `  }`,
    );
  }
  return lines.join("\n");
}

export function javaSdk(
  doc: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
): Record<string, string> {
  const ops = operationsOf(doc);
  const named = schemasOf(doc).filter(
    ([, s]) => s.properties && Object.keys(s.properties).length > 0,
  );
  const models = new Set(named.map(([n]) => n));
  const files: Record<string, string> = {
    "src/main/java/dev/atoll/client/Json.java": JSON_JAVA,
    "src/main/java/dev/atoll/client/AtollException.java": EXCEPTION_JAVA,
  };
  for (const [name, s] of named)
    files[`src/main/java/dev/atoll/client/models/${name}.java`] = record(name, s, models);
  files["src/main/java/dev/atoll/client/Atoll.java"] =
    `// Generated by Atoll from ${doc.info.title} ${doc.info.version}. Do not edit.
package ${PKG};

import ${PKG}.models.*;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** ${doc.info.title} ${doc.info.version}: one method per operation. */
public final class Atoll {
${CLIENT_RUNTIME}
${ops.map((o) => method(o, models)).join("\n\n")}
}
`;
  const example =
    ops.find((o) => o.method === "GET" && o.pathParams.length === 0 && o.authenticated) ?? ops[0];
  files["README.md"] = `# ${pkg.name} (Java)

A Java 17 client for ${doc.info.title} (${doc.info.version}), generated from its OpenAPI document. Standard library only (\`java.net.http\`).

\`\`\`sh
javac -d out $(find src -name '*.java')
\`\`\`

\`\`\`java
import dev.atoll.client.*;

Atoll atoll = Atoll.withApiKey("${pkg.baseUrl}", System.getenv("ATOLL_API_KEY"));
// or: Atoll.withClientCredentials(baseUrl, "key_…", "atk_…")
${example ? `var result = atoll.${ident(example.id)}(${example.pathParams.map(() => '"…"').join(", ")});` : ""}
try {
  atoll.request("GET", "/v1/nothing-here", null, null, null, true);
} catch (AtollException e) {
  System.out.println(e.status + " " + e.type);
}
\`\`\`

- One method per operation (${ops.length}); answers that are named schemas come back as records (\`fromJson\`), others as \`Map\`/\`List\`.
- 429 and 5xx answers are retried (\`maxRetries(n)\`, default 3) after \`Retry-After\`, or with exponential backoff.
- Problem documents are thrown as \`AtollException\` (\`status\`, \`type\`, \`problem\`).
- Paged operations have \`…Pages(query)\` iterables.
`;
  return files;
}
