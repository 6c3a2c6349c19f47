/**
 * The TypeScript SDK: one dependency-free module (`src/index.ts`, fetch-based: Node ≥ 18,
 * browsers, Workers) with typed models, one method per operation, API-key or OAuth
 * client-credentials auth, retries with backoff on 429/5xx honouring Retry-After, cursor
 * pagination, and problem documents as a typed `AtollError`.
 */
import {
  nullability,
  operationsOf,
  pagination,
  refName,
  schemasOf,
  type JsonSchema,
  type OpenApiDocument,
  type Operation,
} from "./spec";

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string) => (IDENT.test(k) ? k : JSON.stringify(k));

export function tsType(s: JsonSchema | undefined, depth = 0): string {
  if (!s) return "unknown";
  if (s.$ref) return refName(s.$ref);
  const { schema, nullable } = nullability(s);
  const base = schema.$ref ? refName(schema.$ref) : tsBase(schema, depth);
  return nullable ? `${base} | null` : base;
}

function tsBase(s: JsonSchema, depth: number): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return variants.map((v) => tsType(v, depth)).join(" | ");
  if (s.allOf) return s.allOf.map((v) => tsType(v, depth)).join(" & ");
  const t = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (t.length > 1) return t.map((x) => tsBase({ ...s, type: x }, depth)).join(" | ");
  switch (t[0]) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      return `Array<${tsType(s.items, depth)}>`;
    case "object":
    case undefined: {
      if (!s.properties) {
        if (s.additionalProperties && typeof s.additionalProperties === "object")
          return `Record<string, ${tsType(s.additionalProperties, depth)}>`;
        return t[0] === "object" ? "Record<string, unknown>" : "unknown";
      }
      const pad = "  ".repeat(depth + 1);
      const required = new Set(s.required ?? []);
      const fields = Object.entries(s.properties).map(
        ([k, v]) =>
          `${v.description ? `${pad}/** ${v.description.replace(/\*\//g, "* /")} */\n` : ""}${pad}${key(k)}${required.has(k) ? "" : "?"}: ${tsType(v, depth + 1)};`,
      );
      return `{\n${fields.join("\n")}\n${"  ".repeat(depth)}}`;
    }
    default:
      return "unknown";
  }
}

function method(op: Operation): string {
  const args: string[] = op.pathParams.map((p) => `${p.ident}: ${tsType(p.schema)}`);
  if (op.body) args.push(`body: ${tsType(op.body.schema)}`);
  const opts: string[] = [];
  if (op.query.length)
    opts.push(
      `query?: { ${op.query.map((q) => `${key(q.name)}?: ${tsType(q.schema)}`).join("; ")} }`,
    );
  if (op.headers.length)
    opts.push(`headers?: { ${op.headers.map((h) => `${key(h.name)}?: string`).join("; ")} }`);
  args.push(`options: { ${[...opts, "signal?: AbortSignal"].join("; ")} } = {}`);
  const path = op.path.replace(
    /\{([^}]+)\}/g,
    (_m, name: string) =>
      `\${encodeURIComponent(String(${op.pathParams.find((p) => p.name === name)?.ident ?? name}))}`,
  );
  const result = op.response ? tsType(op.response) : "void";
  const doc = `  /** ${op.method} ${op.path}${op.summary ? ` — ${op.summary.replace(/\*\//g, "* /")}` : ""} */`;
  const call = `this.request<${result}>("${op.method}", \`${path}\`, { ${[op.query.length ? "query: options.query" : "", op.headers.length ? "headers: options.headers" : "", op.body ? `body${op.body.form ? ", form: true" : ""}` : "", `auth: ${op.authenticated}`, "signal: options.signal"].filter(Boolean).join(", ")} })`;
  const lines = [
    doc,
    `  ${op.id}(${args.join(", ")}): Promise<${result}> {`,
    `    return ${call};`,
    "  }",
  ];
  const page = pagination(op);
  if (page && op.response) {
    lines.push(
      `  /** Every page of ${op.id}, following \`${page.field}\`. */`,
      `  async *${op.id}Pages(${args.join(", ").replace("options: {", "options: {")}): AsyncGenerator<${result}> {`,
      `    let cursor: ${tsType(op.query.find((q) => q.name === page.param)?.schema)} | undefined = options.query?.${page.param};`,
      `    for (;;) {`,
      `      const page: ${result} = await this.${op.id}(${[...op.pathParams.map((p) => p.ident), op.body ? "body" : ""].filter(Boolean).concat(`{ ...options, query: { ...options.query, ${page.param}: cursor } }`).join(", ")});`,
      `      yield page;`,
      `      const next = (page as { ${page.field}?: unknown }).${page.field};`,
      `      if (next === null || next === undefined) return;`,
      `      cursor = next as typeof cursor;`,
      `    }`,
      `  }`,
    );
  }
  return lines.join("\n");
}

const RUNTIME = `export interface AtollOptions {
  /** The platform's base URL, e.g. http://127.0.0.1:8787 */
  baseUrl: string;
  /** An API key (atk_…), sent as X-API-Key. */
  apiKey?: string;
  /** OAuth 2.0 client credentials: the API key's id and the key itself; tokens are fetched and renewed. */
  clientId?: string;
  clientSecret?: string;
  /** Retries of 429 and 5xx answers (default 3), honouring Retry-After. */
  maxRetries?: number;
  fetch?: typeof fetch;
}

/** An RFC 9457 problem document answered by the platform. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

export class AtollError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = "AtollError";
    this.status = problem.status;
    this.problem = problem;
  }
  /** The problem type's slug: "rate-limited", "validation-failed", … */
  get type(): string {
    return this.problem.type.split("/").pop() ?? this.problem.type;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class AtollClient {
  private token: { value: string; expiresAt: number } | null = null;
  private readonly fetcher: typeof fetch;
  readonly options: AtollOptions;
  // Erasable TypeScript only (no parameter properties, enums or namespaces): Node runs it as is.
  constructor(options: AtollOptions) {
    this.options = options;
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
    if (!options.apiKey && !(options.clientId && options.clientSecret)) throw new Error("Atoll: pass apiKey, or clientId and clientSecret");
  }

  private async authorization(): Promise<Record<string, string>> {
    if (this.options.apiKey) return { "x-api-key": this.options.apiKey };
    if (!this.token || this.token.expiresAt - 30_000 < Date.now()) {
      const res = await this.fetcher(\`\${this.options.baseUrl}/oauth/token\`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: this.options.clientId ?? "", client_secret: this.options.clientSecret ?? "" }),
      });
      const body = (await res.json()) as { access_token?: string; expires_in?: number };
      if (!res.ok || !body.access_token) throw new AtollError({ type: "oauth-error", title: "Token request failed", status: res.status, detail: JSON.stringify(body) });
      this.token = { value: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 300) * 1000 };
    }
    return { authorization: \`Bearer \${this.token.value}\` };
  }

  /** Sends one request; retries 429 and 5xx with exponential backoff, honouring Retry-After. */
  async request<T>(method: string, path: string, o: { query?: object; headers?: object; body?: unknown; form?: boolean; auth?: boolean; signal?: AbortSignal } = {}): Promise<T> {
    const url = new URL(this.options.baseUrl + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    const retries = this.options.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: "application/json", ...(o.auth === false ? {} : await this.authorization()) };
      for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      let body: BodyInit | undefined;
      if (o.body !== undefined) {
        headers["content-type"] = o.form ? "application/x-www-form-urlencoded" : "application/json";
        body = o.form ? new URLSearchParams(o.body as Record<string, string>) : JSON.stringify(o.body);
      }
      const res = await this.fetcher(url, { method, headers, body, signal: o.signal });
      if ((res.status === 429 || res.status >= 500) && attempt < retries) {
        const after = Number(res.headers.get("retry-after"));
        await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : Math.min(8000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2));
        continue;
      }
      const text = await res.text();
      const data: unknown = text ? JSON.parse(text) : undefined;
      if (!res.ok) throw new AtollError((data as Problem) ?? { type: "about:blank", title: res.statusText, status: res.status });
      return data as T;
    }
  }
}
`;

/** The files of the TypeScript SDK. */
export function typescriptSdk(
  doc: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
): Record<string, string> {
  const ops = operationsOf(doc);
  const models = schemasOf(doc).map(([name, s]) => {
    const t = tsType(s);
    // An object literal type is an interface; anything else (unions, records, nullable) an alias.
    return /^\{[\s\S]*\}$/.test(t) && !t.includes("} |")
      ? `export interface ${name} ${t}`
      : `export type ${name} = ${t};`;
  });
  const cls = `/** ${doc.info.title} ${doc.info.version}: one method per operation. */\nexport class Atoll extends AtollClient {\n${ops.map(method).join("\n\n")}\n}\n`;
  const index = `// Generated by Atoll from ${doc.info.title} ${doc.info.version}. Do not edit.\n/* eslint-disable */\n\n${RUNTIME}\n// ---- Models ----\n\n${models.join("\n\n")}\n\n// ---- Operations ----\n\n${cls}`;
  const example =
    ops.find((o) => o.method === "GET" && o.pathParams.length === 0 && o.authenticated) ?? ops[0];
  const readme = `# ${pkg.name}

A TypeScript client for ${doc.info.title} (${doc.info.version}), generated from its OpenAPI document. No dependencies: it uses \`fetch\` (Node 18+, browsers, Workers).

\`\`\`ts
import { Atoll, AtollError } from "./src/index";

const atoll = new Atoll({ baseUrl: "${pkg.baseUrl}", apiKey: process.env.ATOLL_API_KEY });
// or OAuth 2.0 client credentials: new Atoll({ baseUrl, clientId: "key_…", clientSecret: "atk_…" })
${example ? `const result = await atoll.${example.id}(${example.pathParams.map(() => '"…"').join(", ")});` : ""}

try {
  await atoll.request("GET", "/v1/nothing-here");
} catch (err) {
  if (err instanceof AtollError) console.log(err.status, err.type, err.problem.detail);
}
\`\`\`

- One method per operation (${ops.length} in all); models are TypeScript interfaces.
- 429 and 5xx answers are retried (\`maxRetries\`, default 3) after \`Retry-After\`, or with exponential backoff.
- Errors are RFC 9457 problem documents, thrown as \`AtollError\` (\`status\`, \`type\`, \`problem\`).
- Paged operations also have an async iterator: \`for await (const page of atoll.getMarketplaceListingsPages()) …\`.
- Money-moving calls take an \`Idempotency-Key\` header: \`atoll.postPurchases(body, { headers: { "idempotency-key": crypto.randomUUID() } })\`.
`;
  return {
    "src/index.ts": index,
    "README.md": readme,
    "package.json":
      JSON.stringify(
        {
          name: pkg.name,
          version: doc.info.version,
          type: "module",
          main: "src/index.ts",
          types: "src/index.ts",
          license: "MIT",
        },
        null,
        2,
      ) + "\n",
    "tsconfig.json":
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            module: "ESNext",
            moduleResolution: "Bundler",
            strict: true,
            lib: ["ES2022", "DOM", "DOM.Iterable"],
            noEmit: true,
            skipLibCheck: true,
          },
        },
        null,
        2,
      ) + "\n",
  };
}
