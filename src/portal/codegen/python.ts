/**
 * The Python SDK: one module (`atoll/__init__.py`), standard library only (urllib, json), typed
 * models as TypedDicts, one method per operation, API-key or OAuth client-credentials auth,
 * retries on 429/5xx honouring Retry-After, cursor pagination generators, `AtollError` for
 * problem documents. Python 3.9+.
 */
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

const KEYWORDS = new Set([
  "from",
  "class",
  "def",
  "return",
  "import",
  "global",
  "lambda",
  "type",
  "id",
  "in",
  "is",
  "not",
  "and",
  "or",
  "pass",
  "with",
  "as",
  "for",
  "while",
  "if",
  "else",
  "try",
  "except",
  "raise",
  "yield",
  "None",
  "True",
  "False",
  "async",
  "await",
  "del",
  "list",
  "dict",
  "str",
  "object",
  "format",
  "filter",
  "input",
  "range",
  "max",
  "min",
]);
const snake = (text: string) => camel(text).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const ident = (text: string) => {
  const s = snake(text);
  return KEYWORDS.has(s) ? `${s}_` : s;
};

export function pyType(s: JsonSchema | undefined): string {
  if (!s) return "Any";
  if (s.$ref) return `"${refName(s.$ref)}"`;
  const { schema, nullable } = nullability(s);
  const base = schema.$ref ? `"${refName(schema.$ref)}"` : pyBase(schema);
  return nullable ? `Optional[${base}]` : base;
}

function pyBase(s: JsonSchema): string {
  if (s.const !== undefined || s.enum)
    return typeof (s.enum?.[0] ?? s.const) === "string" ? "str" : "Any";
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return `Union[${variants.map(pyType).join(", ")}]`;
  const t = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (t) {
    case "string":
      return "str";
    case "integer":
      return "int";
    case "number":
      return "float";
    case "boolean":
      return "bool";
    case "array":
      return `List[${pyType(s.items)}]`;
    case "object":
      return "Dict[str, Any]";
    default:
      return "Any";
  }
}

function model(name: string, s: JsonSchema): string {
  if (!s.properties) return `${name} = ${pyType(s).replace(/^"|"$/g, "")}\n`;
  const props = Object.entries(s.properties);
  const valid = props.every(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !KEYWORDS.has(k));
  const fields = props.map(([k, v]) => `${JSON.stringify(k)}: ${pyType(v)}`);
  // The functional form accepts any key; total=False: optional fields may be absent.
  if (!valid || props.length === 0)
    return `${name} = TypedDict(${JSON.stringify(name)}, {${fields.join(", ")}}, total=False)\n`;
  return `class ${name}(TypedDict, total=False):\n${props.map(([k, v]) => `    ${k}: ${pyType(v)}`).join("\n")}\n`;
}

function method(op: Operation): string {
  const args = ["self", ...op.pathParams.map((p) => `${ident(p.name)}: str`)];
  if (op.body) args.push(`body: ${pyType(op.body.schema)}`);
  const kw = [
    ...op.query.map((q) => `${ident(q.name)}: Optional[${pyType(q.schema)}] = None`),
    ...op.headers.map((h) => `${ident(h.name)}: Optional[str] = None`),
  ];
  const all = kw.length ? [...args, "*", ...kw] : args;
  const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => `{_quote(${ident(name)})}`);
  const result = op.response ? pyType(op.response) : "None";
  const lines = [
    `    def ${ident(op.id)}(${all.join(", ")}) -> ${result}:`,
    `        """${op.method} ${op.path}${op.summary ? ` — ${op.summary.replace(/"""/g, "'''").replace(/\\/g, "\\\\")}` : ""}"""`,
    `        return self.request(${JSON.stringify(op.method)}, f${JSON.stringify(path)}, query={${op.query.map((q) => `${JSON.stringify(q.name)}: ${ident(q.name)}`).join(", ")}}, headers={${op.headers.map((h) => `${JSON.stringify(h.name)}: ${ident(h.name)}`).join(", ")}}${op.body ? `, body=body${op.body.form ? ", form=True" : ""}` : ""}, auth=${op.authenticated ? "True" : "False"})`,
  ];
  const page = pagination(op);
  if (page && op.response) {
    const cursor = ident(page.param);
    lines.push(
      "",
      `    def ${ident(op.id)}_pages(${all.join(", ")}) -> Iterator[${result}]:`,
      `        """Every page of ${ident(op.id)}, following ${page.field}."""`,
      `        while True:`,
      `            page = self.${ident(op.id)}(${[...op.pathParams.map((p) => ident(p.name)), op.body ? "body" : "", ...kw.map((k) => `${k.split(":")[0]}=${k.split(":")[0]}`)].filter(Boolean).join(", ")})`,
      `            yield page`,
      `            ${cursor} = page.get(${JSON.stringify(page.field)}) if isinstance(page, dict) else None`,
      `            if ${cursor} is None:`,
      `                return`,
    );
  }
  return lines.join("\n");
}

const RUNTIME = `import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, TypedDict, Union


class AtollError(Exception):
    """An RFC 9457 problem document answered by the platform."""

    def __init__(self, problem: Dict[str, Any]):
        super().__init__(problem.get("detail") or problem.get("title") or "error")
        self.problem = problem
        self.status: int = int(problem.get("status", 0))
        self.type: str = str(problem.get("type", "")).rsplit("/", 1)[-1]


def _quote(value: Any) -> str:
    return urllib.parse.quote(str(value), safe="@")


class AtollClient:
    def __init__(self, base_url: str, api_key: Optional[str] = None, client_id: Optional[str] = None, client_secret: Optional[str] = None, max_retries: int = 3, timeout: float = 30.0):
        if not api_key and not (client_id and client_secret):
            raise ValueError("pass api_key, or client_id and client_secret")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.client_id = client_id
        self.client_secret = client_secret
        self.max_retries = max_retries
        self.timeout = timeout
        self._token: Optional[str] = None
        self._token_expires = 0.0

    def _authorization(self) -> Dict[str, str]:
        if self.api_key:
            return {"X-API-Key": self.api_key}
        if not self._token or self._token_expires - 30 < time.time():
            data = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}).encode()
            req = urllib.request.Request(self.base_url + "/oauth/token", data=data, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as res:
                    body = json.loads(res.read() or b"{}")
            except urllib.error.HTTPError as err:
                raise AtollError({"type": "oauth-error", "title": "Token request failed", "status": err.code, "detail": err.read().decode("utf-8", "replace")}) from None
            self._token = body["access_token"]
            self._token_expires = time.time() + float(body.get("expires_in", 300))
        return {"Authorization": "Bearer " + str(self._token)}

    def request(self, method: str, path: str, query: Optional[Dict[str, Any]] = None, headers: Optional[Dict[str, Optional[str]]] = None, body: Any = None, form: bool = False, auth: bool = True) -> Any:
        """Sends one request; retries 429 and 5xx with exponential backoff, honouring Retry-After."""
        params = {k: ("true" if v is True else "false" if v is False else v) for k, v in (query or {}).items() if v is not None}
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        attempt = 0
        while True:
            h = {"Accept": "application/json", **(self._authorization() if auth else {})}
            h.update({k: v for k, v in (headers or {}).items() if v is not None})
            data = None
            if body is not None:
                h["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
                data = (urllib.parse.urlencode(body) if form else json.dumps(body)).encode()
            req = urllib.request.Request(url, data=data, method=method, headers=h)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as res:
                    text = res.read()
                    return json.loads(text) if text else None
            except urllib.error.HTTPError as err:
                text = err.read()
                if (err.code == 429 or err.code >= 500) and attempt < self.max_retries:
                    after = err.headers.get("Retry-After")
                    delay = float(after) if after and after.isdigit() else min(8.0, 0.25 * 2 ** attempt) * (0.5 + random.random() / 2)
                    time.sleep(delay)
                    attempt += 1
                    continue
                try:
                    problem = json.loads(text)
                except ValueError:
                    problem = {"type": "about:blank", "title": err.reason, "status": err.code}
                raise AtollError(problem) from None
`;

export function pythonSdk(
  doc: OpenApiDocument,
  pkg: { name: string; baseUrl: string },
): Record<string, string> {
  const ops = operationsOf(doc);
  const models = schemasOf(doc).map(([n, s]) => model(n, s));
  const cls = `class Atoll(AtollClient):\n    """${doc.info.title} ${doc.info.version}: one method per operation."""\n\n${ops.map(method).join("\n\n")}\n`;
  const init = `# Generated by Atoll from ${doc.info.title} ${doc.info.version}. Do not edit.\n"""A client for ${doc.info.title}."""\nfrom __future__ import annotations\n\n${RUNTIME}\n\n# ---- Models ----\n\n${models.join("\n")}\n\n# ---- Operations ----\n\n${cls}`;
  const example =
    ops.find((o) => o.method === "GET" && o.pathParams.length === 0 && o.authenticated) ?? ops[0];
  const readme = `# ${pkg.name} (Python)

A Python client for ${doc.info.title} (${doc.info.version}), generated from its OpenAPI document. Standard library only; Python 3.9+.

\`\`\`python
import os
from atoll import Atoll, AtollError

atoll = Atoll("${pkg.baseUrl}", api_key=os.environ["ATOLL_API_KEY"])
# or OAuth 2.0 client credentials: Atoll(base_url, client_id="key_…", client_secret="atk_…")
${example ? `print(atoll.${ident(example.id)}(${example.pathParams.map(() => '"…"').join(", ")}))` : ""}

try:
    atoll.request("GET", "/v1/nothing-here")
except AtollError as err:
    print(err.status, err.type, err.problem.get("detail"))
\`\`\`

- One method per operation (${ops.length}); models are \`TypedDict\`s.
- 429 and 5xx answers are retried (\`max_retries\`, default 3) after \`Retry-After\`, or with exponential backoff.
- Problem documents are raised as \`AtollError\` (\`status\`, \`type\`, \`problem\`).
- Paged operations have a generator: \`for page in atoll.get_marketplace_listings_pages(): …\`.
`;
  return {
    "atoll/__init__.py": init,
    "README.md": readme,
    "example.py": `from atoll import Atoll\nimport os, json\n\natoll = Atoll(os.environ.get("ATOLL_URL", "${pkg.baseUrl}"), api_key=os.environ["ATOLL_API_KEY"])\n${example ? `print(json.dumps(atoll.${ident(example.id)}(${example.pathParams.map(() => '"…"').join(", ")})))` : ""}\n`,
  };
}

export { ident as pythonIdent };
