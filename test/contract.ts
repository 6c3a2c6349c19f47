/**
 * The drift check: every response a test receives is held against the served OpenAPI document —
 * the status is documented for that operation, the content type is one it documents, and a JSON
 * body validates against the documented schema. Pure (no I/O), used by the workerd tests' `call()`
 * (test/helpers.ts) and by the e2e tests' fetch (test/e2e/contract-setup.ts).
 */
import { Validator, type Schema } from "@cfworker/json-schema";

interface MediaType {
  schema?: Schema;
}
interface DocResponse {
  content?: Record<string, MediaType>;
}
interface DocOperation {
  operationId?: string;
  responses?: Record<string, DocResponse>;
}
export interface ContractDocument {
  paths: Record<string, Record<string, DocOperation>>;
  components?: Record<string, unknown>;
}

interface Route {
  template: string;
  pattern: RegExp;
  literals: number;
  methods: Record<string, DocOperation>;
}

export interface Observed {
  method: string;
  /** The request's path, without query. */
  path: string;
  status: number;
  contentType: string | null;
  /** The body as text (an empty string for none). */
  body: string;
  /** A plugin's own answer (under /p/ or /apps/, not a gateway problem): any status, any type. */
  pluginAnswer?: boolean;
}

/** The API's paths; the rest (the web UI, `/docs`, `/openapi.json` itself) is not an API. */
const API = /^\/(v1|p|apps|oauth|\.well-known)(\/|$)|^\/healthz$/;

export class Contract {
  private readonly routes: Route[];
  private readonly validators = new Map<string, Validator>();

  constructor(private readonly doc: ContractDocument) {
    this.routes = Object.entries(doc.paths)
      .map(([template, methods]) => {
        // A trailing `/{path}` is "any path, or none" (the plugin endpoints).
        const anyPath = template.endsWith("/{path}");
        const source =
          (anyPath ? template.slice(0, -"/{path}".length) : template)
            .split(/(\{[^}]+\})/)
            .map((part) =>
              /^\{.+\}$/.test(part) ? "[^/]+" : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"),
            )
            .join("") + (anyPath ? "(?:/.*)?" : "");
        return {
          template,
          pattern: new RegExp(`^${source}$`),
          literals: template.replace(/\{[^}]+\}/g, "").length,
          methods,
        };
      })
      // The most specific template wins (`/v1/me/keys` before `/v1/{x}/keys`).
      .sort((a, b) => b.literals - a.literals);
  }

  /** What is wrong with a response, or [] when it is what the document promises. */
  check(o: Observed): string[] {
    const method = o.method.toLowerCase() === "head" ? "get" : o.method.toLowerCase();
    const where = `${o.method} ${o.path} → ${o.status}`;
    if (method === "options") return []; // CORS preflights are answered by the middleware
    const route = this.routes.find((r) => r.pattern.test(o.path) && r.methods[method]);
    if (!API.test(o.path)) return [];
    if (!route) {
      if (this.routes.some((r) => r.pattern.test(o.path))) {
        return o.status === 405 || o.status === 404
          ? this.problemShape(o, where)
          : [`${where}: the path has no ${method.toUpperCase()} operation`];
      }
      // Authentication runs before routing: an unknown path under /v1 can be a 401 (never 200).
      return o.status === 404 || o.status === 401 || o.status === 405
        ? this.problemShape(o, where)
        : [`${where}: undocumented path`];
    }
    if (o.pluginAnswer) return [];
    const op = route.methods[method] as DocOperation;
    const responses = op.responses ?? {};
    const documented =
      responses[String(o.status)] ?? responses[`${String(o.status)[0]}XX`] ?? responses.default;
    const name = `${where} (${op.operationId ?? route.template})`;
    if (!documented) {
      return [
        `${name}: status ${o.status} is not documented (documented: ${Object.keys(responses).join(", ")})`,
      ];
    }
    const content = documented.content ?? {};
    const mediaTypes = Object.keys(content);
    if (mediaTypes.length === 0) {
      return o.body === "" || o.method.toLowerCase() === "head"
        ? []
        : [`${name}: a body where the document promises none`];
    }
    if (o.method.toLowerCase() === "head") return [];
    const type = (o.contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    const media =
      mediaTypes.find((m) => m.toLowerCase() === type) ??
      mediaTypes.find((m) => m === "*/*" || (m.endsWith("/*") && type.startsWith(m.slice(0, -1))));
    if (!media) {
      return [`${name}: content type ${type || "(none)"} is not one of ${mediaTypes.join(", ")}`];
    }
    const schema = content[media]?.schema;
    if (!schema || !/json$/.test(type)) return [];
    return this.validate(name, `${route.template} ${method} ${o.status} ${media}`, schema, o.body);
  }

  private problemShape(o: Observed, where: string): string[] {
    const type = (o.contentType ?? "").split(";")[0]?.trim() ?? "";
    if (o.method.toLowerCase() === "head") return [];
    return type === "application/problem+json"
      ? []
      : [`${where}: an error outside any operation must be a problem document, was ${type}`];
  }

  private validate(name: string, key: string, schema: Schema, body: string): string[] {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [`${name}: the body is not JSON: ${body.slice(0, 120)}`];
    }
    let validator = this.validators.get(key);
    if (!validator) {
      validator = new Validator(
        { ...schema, components: this.doc.components } as Schema,
        "2020-12",
        false,
      );
      this.validators.set(key, validator);
    }
    const result = validator.validate(value);
    if (result.valid) return [];
    const errors = result.errors
      .filter((e) => !/^(anyOf|allOf|oneOf|\$ref|properties|items)$/.test(e.keyword))
      .slice(0, 5)
      .map((e) => `${e.instanceLocation}: ${e.error}`);
    return [
      `${name}: the body does not match the schema: ${(errors.length ? errors : result.errors.slice(0, 3).map((e) => `${e.instanceLocation}: ${e.error}`)).join("; ")} — body ${body.slice(0, 300)}`,
    ];
  }
}
