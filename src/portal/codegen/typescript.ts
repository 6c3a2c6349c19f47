/**
 * The TypeScript SDK, shipped as an npm package of compiled JavaScript (`dist/index.js`, ES2022,
 * runs on Node 20 as is) and its declarations (`dist/index.d.ts`), both generated here (no tsc
 * in the Worker). Typed models, one method per operation, API key / bearer / OAuth client
 * credentials (none for public operations), bytes in and out for binary bodies, timeouts,
 * retries honouring Retry-After, error classes per kind.
 *
 * Every document string reaches the output through ./escape (comments, string literals,
 * identifiers); none is concatenated raw.
 */
import { operationSections } from "./readme";
import { JS_KEYWORDS, jsComment, jsString, mdText, Namer, safeCamel } from "./escape";
import {
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
import { RUNTIME_DTS, RUNTIME_JS } from "./typescript-runtime";

/** Names the runtime exports: no model may take one. */
const RUNTIME_NAMES = [
  "Atoll",
  "AtollClient",
  "AtollOptions",
  "AtollError",
  "BadRequestError",
  "AuthError",
  "NotFoundError",
  "ConflictError",
  "RateLimitError",
  "ServerError",
  "AtollConnectionError",
  "AtollTimeoutError",
  "Problem",
  "BinaryBody",
  "RequestOptions",
  "Array",
  "Record",
  "Promise",
  "Uint8Array",
  "Blob",
  "Date",
  "Error",
  "Object",
];

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string) => (IDENT.test(k) && k !== "__proto__" ? k : jsString(k));
const doc = (pad: string, text: string | undefined) =>
  text ? `${pad}/** ${jsComment(text)} */\n` : "";

function tsType(s: JsonSchema | undefined, names: SchemaNames, depth = 0): string {
  if (!s || depth > 12) return "unknown";
  if (s.$ref) return names.ref(s.$ref) ?? "unknown";
  const { schema, nullable } = nullability(s);
  const base = schema.$ref ? (names.ref(schema.$ref) ?? "unknown") : tsBase(schema, names, depth);
  return nullable ? `(${base}) | null` : base;
}

function literal(v: unknown): string {
  if (typeof v === "string") return jsString(v);
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "boolean") return String(v);
  if (v === null) return "null";
  return "unknown";
}

function tsBase(s: JsonSchema, names: SchemaNames, depth: number): string {
  if (s.const !== undefined) return literal(s.const);
  if (s.enum) return s.enum.length ? s.enum.map(literal).join(" | ") : "never";
  const variants = s.anyOf ?? s.oneOf;
  if (variants)
    return variants.map((v) => `(${tsType(v, names, depth + 1)})`).join(" | ") || "unknown";
  if (s.allOf)
    return s.allOf.map((v) => `(${tsType(v, names, depth + 1)})`).join(" & ") || "unknown";
  const t = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (t.length > 1) return t.map((x) => tsBase({ ...s, type: x }, names, depth)).join(" | ");
  switch (t[0]) {
    case "string":
      return s.format === "binary" || s.contentMediaType ? "Uint8Array" : "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      return `Array<${tsType(s.items, names, depth + 1)}>`;
    case "object":
    case undefined: {
      if (!s.properties) {
        if (s.additionalProperties && typeof s.additionalProperties === "object")
          return `Record<string, ${tsType(s.additionalProperties, names, depth + 1)}>`;
        return t[0] === "object" ? "Record<string, unknown>" : "unknown";
      }
      const pad = "  ".repeat(depth + 1);
      const required = new Set(s.required ?? []);
      const fields = Object.entries(s.properties).map(
        ([k, v]) =>
          `${doc(pad, v.description)}${pad}${key(k)}${required.has(k) ? "" : "?"}: ${tsType(v, names, depth + 1)};`,
      );
      return `{\n${fields.join("\n")}\n${"  ".repeat(depth)}}`;
    }
    default:
      return "unknown";
  }
}

interface Named {
  op: Operation;
  method: string;
  params: Map<string, string>;
}

/** Method and parameter identifiers, unique and safe. */
function nameOperations(ops: Operation[]): Named[] {
  const methods = new Namer(
    safeCamel,
    // The client's own members: an operation may not shadow them.
    [
      "request",
      "authorization",
      "options",
      "baseUrl",
      "timeoutMs",
      "maxRetries",
      "maxRetryDelayMs",
      "fetcher",
    ],
    JS_KEYWORDS,
  );
  return ops.map((op) => {
    // Never a name the method body uses itself (segment(), the paging locals are $-prefixed).
    const params = new Namer(safeCamel, ["options", "body", "segment", "rest"], JS_KEYWORDS);
    return {
      op,
      method: methods.name(op.id, "operation"),
      params: new Map(op.pathParams.map((p) => [p.name, params.name(p.name, "param")])),
    };
  });
}

function bodyType(op: Operation, names: SchemaNames): string {
  if (!op.body) return "never";
  if (op.body.kind === "binary") return "BinaryBody";
  return tsType(op.body.schema, names);
}

function resultType(op: Operation, names: SchemaNames): string {
  if (op.responseKind === "binary") return "Uint8Array";
  if (op.responseKind === "none" || !op.response) return "void";
  return tsType(op.response, names);
}

function optionsType(op: Operation, names: SchemaNames): string {
  const parts: string[] = [];
  if (op.query.length)
    parts.push(
      `query?: { ${op.query.map((q) => `${key(q.name)}${q.required ? "" : "?"}: ${tsType(q.schema, names)}`).join("; ")} }`,
    );
  if (op.headers.length)
    parts.push(
      `headers?: { ${op.headers.map((h) => `${key(h.name.toLowerCase())}?: string`).join("; ")}; [header: string]: string | undefined }`,
    );
  return `RequestOptions & { ${parts.join("; ")} }`;
}

/** A path parameter's type: its schema's when that says more than "a string" (an enum, a number). */
function pathParamType(p: Operation["pathParams"][number], names: SchemaNames): string {
  const { schema } = nullability(p.schema);
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (p.catchAll || schema.$ref) return "string";
  if (
    schema.enum ||
    schema.const !== undefined ||
    types.some((t) => t === "integer" || t === "number" || t === "boolean")
  )
    return tsType(schema, names);
  return "string | number";
}

function signature(n: Named, names: SchemaNames): string {
  const { op } = n;
  const args = op.pathParams.map((p) => `${n.params.get(p.name)}: ${pathParamType(p, names)}`);
  if (op.body) args.push(`body${op.body.required ? "" : "?"}: ${bodyType(op, names)}`);
  const requiredQuery = op.query.some((q) => q.required);
  args.push(`options${requiredQuery ? "" : "?"}: ${optionsType(op, names)}`);
  return args.join(", ");
}

function pathExpr(n: Named): string {
  const catchAll = new Set(n.op.pathParams.filter((p) => p.catchAll).map((p) => p.name));
  const parts = n.op.segments.map((s) =>
    "text" in s
      ? jsString(s.text)
      : `${catchAll.has(s.param) ? "rest" : "segment"}(${n.params.get(s.param) ?? "undefined"})`,
  );
  return parts.join(" + ") || '""';
}

function jsMethod(n: Named): string {
  const { op } = n;
  const args = [
    ...op.pathParams.map((p) => n.params.get(p.name) ?? "_"),
    ...(op.body ? ["body"] : []),
    "options = {}",
  ];
  const fields = [
    `method: ${jsString(op.method)}`,
    `path: ${pathExpr(n)}`,
    "query: options.query",
    "headers: options.headers",
    ...(op.body
      ? [
          "body",
          `bodyKind: ${jsString(op.body.kind)}`,
          `contentType: ${jsString(op.body.contentType)}`,
        ]
      : []),
    `responseKind: ${jsString(op.responseKind)}`,
    `auth: ${op.authenticated}`,
    `idempotency: ${op.idempotency ? jsString(op.idempotency.required ? "required" : "optional") : "null"}`,
    "signal: options.signal",
    "timeoutMs: options.timeoutMs",
  ];
  const lines = [
    `  ${n.method}(${args.join(", ")}) {`,
    `    return this.request({ ${fields.join(", ")} });`,
    "  }",
  ];
  const page = pagination(op);
  if (page && op.responseKind === "json") {
    const call = [
      ...op.pathParams.map((p) => n.params.get(p.name) ?? "_"),
      ...(op.body ? ["body"] : []),
    ];
    lines.push(
      `  async *${n.method}Pages(${args.join(", ")}) {`,
      `    let $cursor = options.query?.[${jsString(page.param)}];`,
      "    for (;;) {",
      `      const $page = await this.${n.method}(${[...call, `{ ...options, query: { ...options.query, [${jsString(page.param)}]: $cursor } }`].join(", ")});`,
      "      yield $page;",
      `      const $next = $page?.[${jsString(page.field)}];`,
      "      if ($next === null || $next === undefined) return;",
      "      $cursor = $next;",
      "    }",
      "  }",
    );
  }
  return lines.join("\n");
}

function dtsMethod(n: Named, names: SchemaNames): string {
  const { op } = n;
  const result = resultType(op, names);
  const summary = `${op.method} ${op.path}${op.summary ? ` — ${op.summary}` : ""}`;
  const lines = [`${doc("  ", summary)}  ${n.method}(${signature(n, names)}): Promise<${result}>;`];
  if (pagination(op) && op.responseKind === "json")
    lines.push(
      `  /** Every page of ${n.method}, following the cursor. */\n  ${n.method}Pages(${signature(n, names)}): AsyncGenerator<${result}>;`,
    );
  return lines.join("\n");
}

function tokenPath(doc: OpenApiDocument): string {
  const url = tokenUrlOf(doc) ?? "/oauth/token";
  try {
    return new URL(url, "http://base.invalid").pathname;
  } catch {
    return "/oauth/token";
  }
}

/** The files of the TypeScript SDK. */
export function typescriptSdk(
  document: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
): Record<string, string> {
  const names = schemaNamesOf(document, RUNTIME_NAMES);
  const ops = nameOperations(operationsOf(document));
  const title = `${document.info.title} ${document.info.version}`;
  const models = names.list.map(([name, s]) => {
    const t = tsType(s, names);
    return `${doc("", s.description ?? s.title)}export type ${name} = ${t};`;
  });
  const js = [
    `// Generated by Atoll from ${jsComment(title)}. Do not edit.`,
    `const DEFAULT_BASE_URL = ${jsString(pkg.baseUrl)};`,
    `const TOKEN_PATH = ${jsString(tokenPath(document))};`,
    RUNTIME_JS,
    `/** ${jsComment(title)}: one method per operation. */`,
    "export class Atoll extends AtollClient {",
    ops.map(jsMethod).join("\n\n"),
    "}",
    "",
  ].join("\n");
  const dts = [
    `// Generated by Atoll from ${jsComment(title)}. Do not edit.`,
    RUNTIME_DTS,
    "// ---- Models ----",
    "",
    models.join("\n\n"),
    "",
    "// ---- Operations ----",
    "",
    `/** ${jsComment(title)}: one method per operation. */`,
    "export declare class Atoll extends AtollClient {",
    ops.map((n) => dtsMethod(n, names)).join("\n"),
    "}",
    "",
  ].join("\n");
  return {
    "dist/index.js": js,
    "dist/index.d.ts": dts,
    "README.md": readme(document, pkg, ops),
    "package.json":
      JSON.stringify(
        {
          name: pkg.name,
          version: npmVersion(document.info.version),
          description: `A client for ${document.info.title}`,
          type: "module",
          main: "./dist/index.js",
          types: "./dist/index.d.ts",
          exports: {
            ".": {
              types: "./dist/index.d.ts",
              import: "./dist/index.js",
              default: "./dist/index.js",
            },
          },
          files: ["dist", "README.md"],
          engines: { node: ">=20" },
          license: "MIT",
        },
        null,
        2,
      ) + "\n",
  };
}

const npmVersion = (v: string) => (/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(v) ? v : "0.0.0");

function readme(
  document: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
  ops: Named[],
): string {
  const groups = operationSections(ops, "js", (ex, pathArgs) => {
    const body = ex?.op.body ? [ex.op.body.kind === "binary" ? "bytes" : "{ /* … */ }"] : [];
    return `const result = await atoll.${ex?.method ?? "request"}(${[...pathArgs, ...body].join(", ")});`;
  });
  return `# ${mdText(pkg.name)}

A JavaScript/TypeScript client for ${mdText(document.info.title)} (${mdText(document.info.version)}), generated from its OpenAPI document: compiled ES2022 JavaScript with \`.d.ts\` types, no dependencies (\`fetch\`: Node 20+, browsers, Workers).

## Install

\`\`\`sh
npm install ./${pkg.name}-typescript     # the unzipped folder
\`\`\`

## Use

\`\`\`js
import { Atoll, AtollError, NotFoundError } from "${pkg.name}";

const atoll = new Atoll({ apiKey: process.env.ATOLL_API_KEY }); // baseUrl defaults to ${pkg.baseUrl}
// or OAuth 2.0 client credentials: new Atoll({ clientId: "key_…", clientSecret: "atk_…" })
// public operations (sign-up, the marketplace) need no credential: new Atoll()
\`\`\`

- Binary bodies: pass a \`Uint8Array\`, \`ArrayBuffer\` or \`Blob\`; downloads come back as \`Uint8Array\`.
- Timeouts: \`timeoutMs\` (default 30000) per attempt. Retries: network errors, 408, 429 and 5xx, \`maxRetries\` (default 2) times with backoff, after \`Retry-After\` (seconds or an HTTP date; a wait beyond 60 s is thrown at once, not slept). A POST, PATCH or DELETE is retried only with an \`Idempotency-Key\`; operations that take one (the money-moving POSTs) get a random UUID, the same across retries, unless you pass \`headers: { "idempotency-key": … }\`.
- Errors: \`AtollError\` (\`status\`, \`problem\`, \`body\`, \`type\`) and its kinds \`BadRequestError\` (400/422), \`AuthError\` (401/403), \`NotFoundError\`, \`ConflictError\`, \`RateLimitError\`, \`ServerError\` (5xx), \`AtollConnectionError\`, \`AtollTimeoutError\`.
- Paged operations also have an async iterator: \`for await (const page of atoll.…Pages()) …\`.

## Operations (${ops.length})

${groups.join("\n\n")}
`;
}
