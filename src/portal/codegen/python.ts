/**
 * The Python SDK: a package (`<module>/__init__.py`, standard library only, Python 3.9+) with
 * `pyproject.toml` and an in-tree PEP 517 backend, so `pip install ./folder` needs no network.
 * Models are TypedDicts (Required/NotRequired) and required body fields and parameters are
 * checked before sending; bytes in and out for binary bodies; timeouts, retries honouring
 * Retry-After, error classes per kind.
 *
 * Every document string reaches the output through ./escape; none is concatenated raw.
 */
import {
  mdText,
  Namer,
  plainText,
  PY_KEYWORDS,
  pyComment,
  pyDocstring,
  pyString,
  safeSnake,
} from "./escape";
import { operationSections } from "./readme";
import { PY_BACKEND, PY_RUNTIME } from "./python-runtime";
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

const RUNTIME_NAMES = [
  "Atoll",
  "AtollClient",
  "AtollError",
  "BadRequestError",
  "AuthError",
  "NotFoundError",
  "ConflictError",
  "RateLimitError",
  "ServerError",
  "AtollConnectionError",
  "AtollTimeoutError",
  "Any",
  "Dict",
  "List",
  "Optional",
  "Union",
  "Tuple",
  "TypedDict",
  "Iterator",
  "Iterable",
  "Literal",
  "Required",
  "NotRequired",
];
/** Attributes and methods of the client: no operation may shadow them. */
const CLIENT_MEMBERS = [
  "request",
  "base_url",
  "api_key",
  "access_token",
  "client_id",
  "client_secret",
  "timeout",
  "max_retries",
  "max_retry_delay",
];

function pyType(s: JsonSchema | undefined, names: SchemaNames, depth = 0): string {
  if (!s || depth > 12) return "Any";
  if (s.$ref) return names.ref(s.$ref) ?? "Any";
  const { schema, nullable } = nullability(s);
  const base = schema.$ref ? (names.ref(schema.$ref) ?? "Any") : pyBase(schema, names, depth);
  return nullable && base !== "Any" ? `Optional[${base}]` : base;
}

function pyLiteral(v: unknown): string | null {
  if (typeof v === "string") return pyString(v);
  if (typeof v === "number" && Number.isInteger(v)) return String(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  return null;
}

function pyBase(s: JsonSchema, names: SchemaNames, depth: number): string {
  const values = s.enum ?? (s.const !== undefined ? [s.const] : null);
  if (values) {
    const lits = values.map(pyLiteral);
    return lits.length && lits.every((l) => l !== null) ? `Literal[${lits.join(", ")}]` : "Any";
  }
  const variants = s.anyOf ?? s.oneOf;
  if (variants)
    return variants.length
      ? `Union[${variants.map((v) => pyType(v, names, depth + 1)).join(", ")}]`
      : "Any";
  const t = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (t) {
    case "string":
      return s.format === "binary" || s.contentMediaType ? "bytes" : "str";
    case "integer":
      return "int";
    case "number":
      return "float";
    case "boolean":
      return "bool";
    case "array":
      return `List[${pyType(s.items, names, depth + 1)}]`;
    case "object":
      return "Dict[str, Any]";
    default:
      return "Any";
  }
}

function model(name: string, s: JsonSchema, names: SchemaNames): string {
  const { schema } = nullability(s);
  const summary = schema.description ?? schema.title;
  const comment = summary ? `# ${pyComment(summary)}\n` : "";
  if (!schema.properties) return `${comment}${name} = Any  # ${pyComment(pyType(schema, names))}\n`;
  const required = new Set(schema.required ?? []);
  // The functional form takes any key (a-b, class, __proto__); types as forward references.
  const fields = Object.entries(schema.properties).map(
    ([k, v]) =>
      `    ${pyString(k)}: ${pyString(`${required.has(k) ? "Required" : "NotRequired"}[${pyType(v, names)}]`)},`,
  );
  // The qualifiers live in unevaluated strings, so the key sets are stated for introspection.
  const keys = (list: string[]) => `frozenset((${list.map((k) => `${pyString(k)},`).join(" ")}))`;
  const all = Object.keys(schema.properties);
  return `${comment}${name} = TypedDict(${pyString(name)}, {\n${fields.join("\n")}\n}, total=False)\n${name}.__required_keys__ = ${keys(all.filter((k) => required.has(k)))}\n${name}.__optional_keys__ = ${keys(all.filter((k) => !required.has(k)))}\n`;
}

interface Named {
  op: Operation;
  method: string;
  pages: string | null;
  args: Map<string, string>;
}

function nameOperations(ops: Operation[]): Named[] {
  const methods = new Namer(safeSnake, [...CLIENT_MEMBERS, ...RUNTIME_NAMES], PY_KEYWORDS);
  const named = ops.map((op) => {
    const args = new Namer(safeSnake, ["self", "body", "timeout", "page"], PY_KEYWORDS);
    const key = (where: string, name: string) => `${where}:${name}`;
    return {
      op,
      method: methods.name(op.id, "operation"),
      pages: null as string | null,
      args: new Map([
        ...op.pathParams.map((p) => [key("path", p.name), args.name(p.name, "param")] as const),
        ...op.query.map((p) => [key("query", p.name), args.name(p.name, "param")] as const),
        ...op.headers.map((p) => [key("header", p.name), args.name(p.name, "header")] as const),
      ]),
    };
  });
  for (const n of named)
    if (pagination(n.op) && n.op.responseKind === "json")
      n.pages = methods.name(`${n.method}_pages`);
  return named;
}

function bodyRequired(
  op: Operation,
  byName: Map<string, JsonSchema>,
  names: SchemaNames,
): string[] {
  if (!op.body || op.body.kind === "binary") return [];
  let s = nullability(op.body.schema).schema;
  for (let i = 0; s.$ref && i < 5; i++)
    s = nullability(byName.get(names.ref(s.$ref) ?? "") ?? {}).schema;
  return s.required ?? [];
}

/** A path parameter's type: its schema's when that says more than "a string" (an enum, a number). */
function pathParamType(p: Operation["pathParams"][number], names: SchemaNames): string {
  const { schema } = nullability(p.schema);
  if (p.catchAll || schema.$ref) return "str";
  const t = pyType(schema, names);
  // A bool would be sent as True/False, not the true/false the gateway reads.
  return /^(Any|bool|Dict|List|Union|Literal\[(True|False))/.test(t) ? "str" : t;
}

function method(n: Named, names: SchemaNames, byName: Map<string, JsonSchema>): string {
  const { op } = n;
  const arg = (where: string, name: string) => n.args.get(`${where}:${name}`) ?? "_";
  const positional = [
    "self",
    ...op.pathParams.map((p) => `${arg("path", p.name)}: ${pathParamType(p, names)}`),
  ];
  const body = op.body
    ? op.body.kind === "binary"
      ? "bytes"
      : pyType(op.body.schema, names)
    : null;
  if (body) positional.push(op.body?.required ? `body: ${body}` : `body: Optional[${body}] = None`);
  const keywords = [
    ...op.query.map((q) =>
      q.required
        ? `${arg("query", q.name)}: ${pyType(q.schema, names)}`
        : `${arg("query", q.name)}: Optional[${pyType(q.schema, names)}] = None`,
    ),
    ...op.headers.map((h) =>
      h.required && h.name.toLowerCase() !== "idempotency-key"
        ? `${arg("header", h.name)}: str`
        : `${arg("header", h.name)}: Optional[str] = None`,
    ),
    "timeout: Optional[float] = None",
  ];
  const result =
    op.responseKind === "binary"
      ? "bytes"
      : op.responseKind === "none" || !op.response
        ? "None"
        : pyType(op.response, names);
  const path =
    op.segments
      .map((s) =>
        "text" in s
          ? pyString(s.text)
          : `${op.pathParams.some((p) => p.name === s.param && p.catchAll) ? "_quote_rest" : "_quote"}(${arg("path", s.param)})`,
      )
      .join(" + ") || '""';
  const checks = [
    ...op.pathParams.map((p) => `_require_param(${arg("path", p.name)}, ${pyString(p.name)})`),
    ...op.query
      .filter((q) => q.required)
      .map((q) => `_require_param(${arg("query", q.name)}, ${pyString(q.name)})`),
    ...op.headers
      .filter((h) => h.required && h.name.toLowerCase() !== "idempotency-key")
      .map((h) => `_require_param(${arg("header", h.name)}, ${pyString(h.name)})`),
  ];
  const required = bodyRequired(op, byName, names);
  if (op.body?.required) checks.push(`_require_param(body, "body")`);
  if (required.length)
    checks.push(
      `${op.body?.required ? "" : "if body is not None: "}_require(body, (${required.map(pyString).join(", ")},), "body")`,
    );
  const call = [
    pyString(op.method),
    path,
    `query={${op.query.map((q) => `${pyString(q.name)}: ${arg("query", q.name)}`).join(", ")}}`,
    `headers={${op.headers.map((h) => `${pyString(h.name)}: ${arg("header", h.name)}`).join(", ")}}`,
    ...(op.body
      ? [
          "body=body",
          `body_kind=${pyString(op.body.kind)}`,
          `content_type=${pyString(op.body.contentType)}`,
        ]
      : []),
    `response_kind=${pyString(op.responseKind)}`,
    `auth=${op.authenticated ? "True" : "False"}`,
    `idempotency=${op.idempotency ? pyString(op.idempotency.required ? "required" : "optional") : "None"}`,
    "timeout=timeout",
  ];
  const summary = `${op.method} ${op.path}${op.summary ? ` - ${op.summary}` : ""}`;
  const sig = [...positional, "*", ...keywords].join(", ");
  const lines = [
    `    def ${n.method}(${sig}) -> ${result}:`,
    `        """${pyDocstring(summary)}"""`,
    ...checks.map((c) => `        ${c}`),
    `        return self.request(${call.join(", ")})`,
  ];
  const page = pagination(op);
  if (page && n.pages) {
    const cursor = arg("query", page.param);
    const forward = [
      ...op.pathParams.map((p) => arg("path", p.name)),
      ...(op.body ? ["body"] : []),
      ...[
        ...op.query.map((q) => arg("query", q.name)),
        ...op.headers.map((h) => arg("header", h.name)),
        "timeout",
      ].map((a) => `${a}=${a}`),
    ];
    lines.push(
      "",
      `    def ${n.pages}(${sig}) -> Iterator[${result}]:`,
      `        """Every page of ${n.method}, following the cursor."""`,
      "        while True:",
      `            page = self.${n.method}(${forward.join(", ")})`,
      "            yield page",
      `            ${cursor} = page.get(${pyString(page.field)}) if isinstance(page, dict) else None`,
      `            if ${cursor} is None:`,
      "                return",
    );
  }
  return lines.join("\n");
}

const pep440 = (v: string) =>
  /^\d+(\.\d+){0,3}$/.exec(v)?.[0] ?? /^\d+\.\d+\.\d+/.exec(v)?.[0] ?? "0.0.0";
const tomlString = (text: string) => JSON.stringify(plainText(text));

function tokenPath(doc: OpenApiDocument): string {
  try {
    return new URL(tokenUrlOf(doc) ?? "/oauth/token", "http://base.invalid").pathname;
  } catch {
    return "/oauth/token";
  }
}

export function pythonSdk(
  doc: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
): Record<string, string> {
  const named = schemaNamesOf(doc, [...RUNTIME_NAMES, ...CLIENT_MEMBERS]);
  const names = {
    ...named,
    list: named.list.map(([n, s]) => [n, flattenAllOf(s, doc)] as [string, JsonSchema]),
  };
  const byName = new Map(names.list);
  const ops = nameOperations(operationsOf(doc));
  const module = safeSnake(pkg.name) || "atoll_client";
  const title = `${doc.info.title} ${doc.info.version}`;
  const version = pep440(doc.info.version);
  const models = names.list.map(([n, s]) => model(n, s, names));
  const init = [
    `# Generated by Atoll from ${pyComment(title)}. Do not edit.`,
    `"""A client for ${pyDocstring(title)}."""`,
    "from __future__ import annotations",
    "",
    PY_RUNTIME,
    `DEFAULT_BASE_URL = ${pyString(pkg.baseUrl)}`,
    `TOKEN_PATH = ${pyString(tokenPath(doc))}`,
    "",
    "",
    "# ---- Models ----",
    "",
    models.join("\n"),
    "",
    "# ---- Operations ----",
    "",
    "",
    "class Atoll(AtollClient):",
    `    """${pyDocstring(title)}: one method per operation."""`,
    "",
    ops.map((n) => method(n, names, byName)).join("\n\n"),
    "",
  ].join("\n");
  const backend = `NAME = ${pyString(pkg.name)}\nVERSION = ${pyString(version)}\nMODULE = ${pyString(module)}\nSUMMARY = ${pyString(plainText(`A client for ${doc.info.title}`))}\n\n${PY_BACKEND}`;
  return {
    [`${module}/__init__.py`]: init,
    [`${module}/py.typed`]: "",
    "_build/atoll_build.py": backend,
    "pyproject.toml": `[build-system]
requires = []
build-backend = "atoll_build"
backend-path = ["_build"]

[project]
name = ${tomlString(pkg.name)}
version = ${tomlString(version)}
description = ${tomlString(`A client for ${doc.info.title}`)}
readme = "README.md"
requires-python = ">=3.9"
`,
    "README.md": readme(doc, pkg, module, ops),
  };
}

function readme(
  doc: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
  module: string,
  ops: Named[],
): string {
  const groups = operationSections(ops, "python", (ex, pathArgs) => {
    const body = ex?.op.body ? [ex.op.body.kind === "binary" ? 'b"…"' : "{…}"] : [];
    return `result = atoll.${ex?.method ?? "request"}(${[...pathArgs, ...body].join(", ")})`;
  });
  return `# ${mdText(pkg.name)} (Python)

A Python client for ${mdText(doc.info.title)} (${mdText(doc.info.version)}), generated from its OpenAPI document. Standard library only; Python 3.9+.

## Install

\`\`\`sh
pip install ./${pkg.name}-python      # the unzipped folder; builds offline (in-tree PEP 517 backend)
\`\`\`

## Use

\`\`\`python
import os
from ${module} import Atoll, AtollError, NotFoundError

atoll = Atoll(api_key=os.environ["ATOLL_API_KEY"])  # base_url defaults to ${pkg.baseUrl}
# or OAuth 2.0 client credentials: Atoll(client_id="key_…", client_secret="atk_…")
# public operations (sign-up, the marketplace) need no credential: Atoll()
\`\`\`

- Bodies and parameters: models are \`TypedDict\`s; a missing required field or parameter raises \`BadRequestError\` before anything is sent.
- Binary bodies: pass \`bytes\`; downloads come back as \`bytes\`.
- Timeouts: \`timeout\` seconds (default 30), per client or per call. Retries: network errors, 408, 429 and 5xx, \`max_retries\` (default 2) times with backoff, after \`Retry-After\` (seconds or an HTTP date; a wait beyond 60 s is thrown at once, not slept). A POST, PATCH or DELETE is retried only with an \`Idempotency-Key\`; operations that take one (the money-moving POSTs) get a random UUID, the same across retries, unless you pass one.
- Errors: \`AtollError\` (\`status\`, \`problem\`, \`body\`, \`type\`) and its kinds \`BadRequestError\` (400/422), \`AuthError\` (401/403), \`NotFoundError\`, \`ConflictError\`, \`RateLimitError\`, \`ServerError\` (5xx), \`AtollConnectionError\`, \`AtollTimeoutError\`.
- Paged operations have a generator: \`for page in atoll.…_pages(): …\`.

## Operations (${ops.length})

${groups.join("\n\n")}
`;
}

export { safeSnake as pythonIdent };
