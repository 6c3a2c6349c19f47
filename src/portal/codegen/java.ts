/**
 * The Java SDK (JDK 17, java.net.http, no dependencies) with a `pom.xml` (`mvn -o package`):
 * records for the named schemas and for inline request bodies (`fromJson`, `toJson` with the
 * required fields checked), one method per operation on `Atoll` with typed bodies and answers,
 * `byte[]` for binary bodies, API key / OAuth client credentials / anonymous, timeouts, retries
 * honouring Retry-After, an exception class per kind.
 *
 * Every document string reaches the output through ./escape (javac decodes `\u` escapes even in
 * comments, so comments and string literals are ASCII with backslashes doubled).
 */
import { operationSections } from "./readme";
import { CLIENT_RUNTIME, EXCEPTIONS_JAVA, JSON_JAVA, JSON_VALUE_JAVA } from "./java-runtime";
import {
  JAVA_KEYWORDS,
  javaComment,
  javaString,
  mdText,
  Namer,
  safeCamel,
  safePascal,
} from "./escape";
import {
  flattenAllOf,
  nullability,
  operationsOf,
  pagination,
  schemaNamesOf,
  tokenUrlOf,
  type JsonSchema,
  type OpenApiDocument,
  type Operation,
  type SchemaNames,
} from "./spec";

const PKG = "dev.atoll.client";
/** Types a model may not shadow: this package's classes, the imports, java.lang. */
const TYPE_NAMES = [
  "Atoll",
  "Json",
  "JsonValue",
  ...Object.keys(EXCEPTIONS_JAVA),
  "List",
  "Map",
  "LinkedHashMap",
  "Iterable",
  "Iterator",
  ..."Object String Long Integer Double Float Short Byte Boolean Character Number Void Class Record Enum Math System Thread Runtime Exception RuntimeException Error Throwable Override Deprecated SuppressWarnings FunctionalInterface SafeVarargs Iterable Comparable CharSequence StringBuilder Process Module Package StrictMath ClassLoader".split(
    " ",
  ),
];
const MEMBER_NAMES = ["toJson", "fromJson", "toString", "hashCode", "equals", "getClass"];

interface JavaType {
  type: string;
  /** Converts a parsed JSON value `v` to the type. */
  conv: (v: string) => string;
}

function javaOf(s: JsonSchema | undefined, ctx: Ctx, depth = 0): JavaType {
  const any: JavaType = { type: "Object", conv: (v) => v };
  if (!s || depth > 12) return any;
  const { schema } = nullability(s);
  if (schema.$ref) {
    const name = ctx.names.ref(schema.$ref);
    return name && ctx.records.has(name)
      ? { type: name, conv: (v) => `${name}.fromJson(${v})` }
      : name && ctx.aliases.has(name)
        ? javaOf(ctx.aliases.get(name), ctx, depth + 1)
        : any;
  }
  if (schema.anyOf || schema.oneOf || schema.allOf) return any;
  const t = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (t) {
    case "string":
      return schema.format === "binary" || schema.contentMediaType
        ? { type: "byte[]", conv: (v) => `(byte[]) ${v}` }
        : { type: "String", conv: (v) => `Json.str(${v})` };
    case "integer":
      return { type: "Long", conv: (v) => `Json.lng(${v})` };
    case "number":
      return { type: "Double", conv: (v) => `Json.dbl(${v})` };
    case "boolean":
      return { type: "Boolean", conv: (v) => `Json.bool(${v})` };
    case "array": {
      const item = javaOf(schema.items, ctx, depth + 1);
      return {
        type: `List<${item.type}>`,
        conv: (v) =>
          `(Json.list(${v}) == null ? null : Json.list(${v}).stream().map(x$${depth} -> ${item.conv(`x$${depth}`)}).collect(java.util.stream.Collectors.toList()))`,
      };
    }
    case "object":
      return { type: "Map<String, Object>", conv: (v) => `(${v} == null ? null : Json.obj(${v}))` };
    default:
      return any;
  }
}

interface Ctx {
  names: SchemaNames;
  /** Named schemas that are objects with properties: records. */
  records: Set<string>;
  /** Other named schemas: their Java type is the schema's. */
  aliases: Map<string, JsonSchema>;
}

function record(name: string, s: JsonSchema, ctx: Ctx): string {
  const { schema } = nullability(s);
  const required = new Set(schema.required ?? []);
  const namer = new Namer(safeCamel, MEMBER_NAMES, JAVA_KEYWORDS);
  const fields = Object.entries(schema.properties ?? {}).map(([k, v]) => ({
    json: k,
    name: namer.name(k, "field"),
    required: required.has(k),
    ...javaOf(v, ctx),
  }));
  const doc = schema.description ?? schema.title ?? name;
  return `package ${PKG}.models;

import ${PKG}.BadRequestException;
import ${PKG}.Json;
import ${PKG}.JsonValue;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** ${javaComment(doc)} */
public record ${name}(${fields.map((f) => `${f.type} ${f.name}`).join(", ")}) implements JsonValue {
  public static ${name} fromJson(Object $json) {
    if ($json == null) return null;
    Map<String, Object> $m = Json.obj($json);
    return new ${name}(${fields.map((f) => f.conv(`$m.get(${javaString(f.json)})`)).join(", ")});
  }

  /** The JSON object; throws BadRequestException when a required field is null. */
  @Override
  public Map<String, Object> toJson() {
    Map<String, Object> $m = new LinkedHashMap<>();
${fields
  .map((f) =>
    f.required
      ? `    if (${f.name} == null) throw new BadRequestException(${javaString(`${name}: the field ${f.json} is required`)});\n    $m.put(${javaString(f.json)}, ${f.name});`
      : `    if (${f.name} != null) $m.put(${javaString(f.json)}, ${f.name});`,
  )
  .join("\n")}
    return $m;
  }
}
`;
}

interface Named {
  op: Operation;
  method: string;
  pages: string | null;
  args: Map<string, string>;
  /** The Java type of the body (a record for inline object bodies). */
  body: string | null;
  /** A record of the typed query parameters, when the operation takes any. */
  query: string | null;
}

function pathExpr(n: Named): string {
  return (
    n.op.segments
      .map((s) =>
        "text" in s
          ? javaString(s.text)
          : `${n.op.pathParams.some((p) => p.name === s.param && p.catchAll) ? "segs" : "seg"}(${n.args.get(s.param) ?? "null"})`,
      )
      .join(" + ") || '""'
  );
}

/** A path parameter's type: Long or Double when its schema says so, else String. */
function pathParamType(p: Operation["pathParams"][number], ctx: Ctx): string {
  if (p.catchAll) return "String";
  const t = javaOf(p.schema, ctx).type;
  return t === "Long" || t === "Double" ? t : "String";
}

function method(n: Named, ctx: Ctx): string {
  const { op } = n;
  const res: JavaType =
    op.responseKind === "binary"
      ? { type: "byte[]", conv: (v) => `(byte[]) ${v}` }
      : op.responseKind === "none" || !op.response
        ? { type: "void", conv: () => "" }
        : javaOf(op.response, ctx);
  const params = op.pathParams.map((p) => `${pathParamType(p, ctx)} ${n.args.get(p.name)}`);
  if (n.body) params.push(`${n.body} body`);
  const full = [
    ...params,
    ...(op.query.length ? ["Map<String, ?> query"] : []),
    ...(op.headers.length ? ["Map<String, String> headers"] : []),
  ];
  const callArgs = (q: string, h: string) =>
    [
      javaString(op.method),
      pathExpr(n),
      q,
      h,
      op.body ? "body" : "null",
      op.body ? javaString(op.body.kind) : "null",
      op.body ? javaString(op.body.contentType) : "null",
      javaString(op.responseKind),
      String(op.authenticated),
      op.idempotency ? javaString(op.idempotency.required ? "required" : "optional") : "null",
    ].join(", ");
  const call = `request(${callArgs(op.query.length ? "query" : "null", op.headers.length ? "headers" : "null")})`;
  const checks = [
    ...op.pathParams.map(
      (p) => `    requireValue(${n.args.get(p.name)}, ${javaString(`path parameter ${p.name}`)});`,
    ),
    ...(op.body?.required ? ['    requireValue(body, "body");'] : []),
  ];
  const summary = `${op.method} ${op.path}${op.summary ? ` - ${op.summary}` : ""}`;
  const body =
    res.type === "void"
      ? `    ${call};`
      : `    Object $r = ${call};\n    return ${res.conv("$r")};`;
  const lines = [
    `  /** ${javaComment(summary)} */`,
    `  public ${res.type} ${n.method}(${full.join(", ")}) {`,
    ...checks,
    body,
    "  }",
  ];
  if (full.length !== params.length) {
    lines.push(
      `  public ${res.type} ${n.method}(${params.join(", ")}) {`,
      `    ${res.type === "void" ? "" : "return "}${n.method}(${[...params.map((p) => p.split(" ").pop()), ...(op.query.length ? ["(Map<String, ?>) null"] : []), ...(op.headers.length ? ["null"] : [])].join(", ")});`,
      "  }",
    );
  }
  if (n.query) {
    const names = params.map((p) => p.split(" ").pop());
    lines.push(
      `  /** ${javaComment(summary)} (typed query parameters) */`,
      `  public ${res.type} ${n.method}(${[...params, `${n.query} query`].join(", ")}) {`,
      `    ${res.type === "void" ? "" : "return "}${n.method}(${[...names, "query == null ? null : query.toJson()", ...(op.headers.length ? ["null"] : [])].join(", ")});`,
      "  }",
    );
  }
  const page = pagination(op);
  if (page && n.pages && res.type !== "void") {
    lines.push(
      `  /** Every page of ${n.method}, following the cursor. */`,
      `  public Iterable<${res.type}> ${n.pages}(${[...params, "Map<String, ?> query"].join(", ")}) {`,
      `    return () -> new java.util.Iterator<${res.type}>() {`,
      `      private Object $cursor = query == null ? null : query.get(${javaString(page.param)});`,
      "      private boolean $done = false;",
      "      public boolean hasNext() { return !$done; }",
      `      public ${res.type} next() {`,
      "        if ($done) throw new java.util.NoSuchElementException();",
      "        Map<String, Object> $q = new LinkedHashMap<>();",
      "        if (query != null) $q.putAll(query);",
      `        $q.put(${javaString(page.param)}, $cursor);`,
      `        Object $r = request(${callArgs("$q", "null")});`,
      `        $cursor = Json.obj($r).get(${javaString(page.field)});`,
      "        $done = $cursor == null;",
      `        return ${res.conv("$r")};`,
      "      }",
      "    };",
      "  }",
    );
  }
  return lines.join("\n");
}

const RUNTIME_MEMBERS = [
  "request",
  "anonymous",
  "withApiKey",
  "withClientCredentials",
  "maxRetries",
  "timeout",
  "maxRetryDelay",
  "authorization",
  "retryAfterMillis",
  "errorFor",
  "form",
  "sleep",
  "seg",
  "segs",
  "requireValue",
  "http",
  "baseUrl",
  "apiKey",
  "clientId",
  "clientSecret",
  "token",
  "tokenExpiresAt",
  "maxRetryDelayMillis",
];

function tokenPath(doc: OpenApiDocument): string {
  try {
    return new URL(tokenUrlOf(doc) ?? "/oauth/token", "http://base.invalid").pathname;
  } catch {
    return "/oauth/token";
  }
}

const mavenVersion = (v: string) => (/^[0-9A-Za-z.-]{1,40}$/.test(v) ? v : "0.0.0");
const artifactId = (name: string) =>
  name.replace(/[^a-z0-9.-]/g, "-").replace(/^-+/, "") || "atoll-client";

export function javaSdk(
  doc: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
): Record<string, string> {
  const named = schemaNamesOf(doc, TYPE_NAMES);
  const names = {
    ...named,
    list: named.list.map(([n, s]) => [n, flattenAllOf(s, doc)] as [string, JsonSchema]),
  };
  const records = new Set<string>();
  const aliases = new Map<string, JsonSchema>();
  for (const [name, s] of names.list) {
    const { schema } = nullability(s);
    if (schema.properties && Object.keys(schema.properties).length > 0) records.add(name);
    else aliases.set(name, schema);
  }
  const ctx: Ctx = { names, records, aliases };
  // Inline object bodies become records too, named after their operation.
  const typeNamer = new Namer(safePascal, [...TYPE_NAMES, ...names.list.map(([n]) => n)]);
  const inline: [string, JsonSchema][] = [];
  const methods = new Namer(safeCamel, RUNTIME_MEMBERS, JAVA_KEYWORDS);
  const ops: Named[] = operationsOf(doc).map((op) => {
    const args = new Namer(safeCamel, ["body", "query", "headers"], JAVA_KEYWORDS);
    const method = methods.name(op.id, "operation");
    let body: string | null = null;
    if (op.body) {
      const { schema } = nullability(flattenAllOf(op.body.schema, doc));
      if (op.body.kind === "binary") body = "byte[]";
      else if (schema.properties && Object.keys(schema.properties).length && !schema.$ref) {
        body = typeNamer.name(`${method}Request`, "Request");
        inline.push([body, schema]);
      } else {
        body = javaOf(op.body.schema, ctx).type;
        if (body === "Object" && op.body.kind === "form") body = "Map<String, Object>";
      }
    }
    // The query parameters as a record too (an overload beside the Map form).
    let query: string | null = null;
    if (op.query.length) {
      query = typeNamer.name(`${method}Query`, "Query");
      const properties: Record<string, JsonSchema> = {};
      for (const q of op.query)
        Object.defineProperty(properties, q.name, {
          value: q.schema,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      inline.push([
        query,
        {
          type: "object",
          properties,
          required: op.query.filter((q) => q.required).map((q) => q.name),
        },
      ]);
    }
    return {
      op,
      method,
      pages: null,
      body,
      query,
      args: new Map(op.pathParams.map((p) => [p.name, args.name(p.name, "param")])),
    };
  });
  for (const n of ops)
    if (pagination(n.op) && n.op.responseKind === "json")
      n.pages = methods.name(`${n.method}Pages`);
  for (const [name] of inline) records.add(name);

  const base = "src/main/java/dev/atoll/client";
  const files: Record<string, string> = {
    [`${base}/Json.java`]: JSON_JAVA,
    [`${base}/JsonValue.java`]: JSON_VALUE_JAVA,
  };
  for (const [name, text] of Object.entries(EXCEPTIONS_JAVA)) files[`${base}/${name}.java`] = text;
  for (const [name, s] of names.list)
    if (records.has(name)) files[`${base}/models/${name}.java`] = record(name, s, ctx);
  for (const [name, s] of inline) files[`${base}/models/${name}.java`] = record(name, s, ctx);
  const title = `${doc.info.title} ${doc.info.version}`;
  files[`${base}/Atoll.java`] = `// Generated by Atoll from ${javaComment(title)}. Do not edit.
package ${PKG};
${records.size ? `\nimport ${PKG}.models.*;` : ""}
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** ${javaComment(title)}: one method per operation. */
public final class Atoll {
  private static final String DEFAULT_BASE_URL = ${javaString(pkg.baseUrl)};
  private static final String TOKEN_PATH = ${javaString(tokenPath(doc))};
${CLIENT_RUNTIME}
${ops.map((o) => method(o, ctx)).join("\n\n")}
}
`;
  const artifact = artifactId(pkg.name);
  files["pom.xml"] = pom(artifact, mavenVersion(doc.info.version));
  files["README.md"] = readme(doc, pkg, artifact, ops);
  return files;
}

/** Plugin versions pinned to ones a Maven 3 installation resolves offline once cached. */
function pom(artifact: string, version: string): string {
  const plugin = (id: string, v: string) =>
    `      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>${id}</artifactId><version>${v}</version></plugin>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.atoll</groupId>
  <artifactId>${artifact}</artifactId>
  <version>${version}</version>
  <packaging>jar</packaging>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <build>
    <plugins>
${plugin("maven-resources-plugin", "3.3.1")}
${plugin("maven-compiler-plugin", "3.13.0")}
${plugin("maven-surefire-plugin", "3.2.5")}
${plugin("maven-jar-plugin", "3.4.1")}
${plugin("maven-install-plugin", "3.1.1")}
    </plugins>
  </build>
</project>
`;
}

function readme(
  doc: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
  artifact: string,
  ops: Named[],
): string {
  const groups = operationSections(ops, "java", (ex, pathArgs) => {
    const body = ex?.body ? [ex.body === "byte[]" ? "bytes" : `new ${ex.body}(…)`] : [];
    return `var result = atoll.${ex?.method ?? "request"}(${[...pathArgs, ...body].join(", ")});`;
  });
  return `# ${mdText(pkg.name)} (Java)

A Java 17 client for ${mdText(doc.info.title)} (${mdText(doc.info.version)}), generated from its OpenAPI document. Standard library only (\`java.net.http\`).

## Install

\`\`\`sh
cd ${pkg.name}-java && mvn -q package      # target/${artifact}-*.jar; or mvn install, then depend on dev.atoll:${artifact}
\`\`\`

## Use

\`\`\`java
import dev.atoll.client.*;
import dev.atoll.client.models.*;

Atoll atoll = Atoll.withApiKey("${pkg.baseUrl}", System.getenv("ATOLL_API_KEY"));
// or Atoll.withClientCredentials(baseUrl, "key_…", "atk_…"); public operations: Atoll.anonymous(baseUrl)
\`\`\`

- Request bodies are records (\`toJson()\` checks the required fields); answers that are named schemas come back as records, others as \`Map\`/\`List\`; binary bodies are \`byte[]\` both ways.
- Timeouts: \`timeout(Duration)\` (default 30 s). Retries: network errors, 408, 429 and 5xx, \`maxRetries(n)\` (default 2) with backoff, after \`Retry-After\` (seconds or an HTTP date; a wait beyond 60 s is thrown at once, not slept). A POST, PATCH or DELETE is retried only with an \`Idempotency-Key\`; operations that take one (the money-moving POSTs) get a random UUID, the same across retries, unless you pass one in \`headers\`.
- Exceptions: \`AtollException\` (\`status\`, \`type\`, \`problem\`, \`body\`) and its kinds \`BadRequestException\` (400/422), \`AuthException\` (401/403), \`NotFoundException\`, \`ConflictException\`, \`RateLimitException\`, \`ServerException\` (5xx), \`AtollConnectionException\`, \`AtollTimeoutException\`.
- Paged operations have \`…Pages(query)\` iterables.

## Operations (${ops.length})

${groups.join("\n\n")}
`;
}
