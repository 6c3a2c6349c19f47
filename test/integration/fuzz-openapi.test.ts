/**
 * A schema-driven fuzzer, working only from the served `/openapi.json` like an outside tool would:
 * for every operation it sends requests built from the document — valid-looking values, edge
 * values (empty, huge, negative, unicode, traversal, prototype keys), missing and extra fields,
 * malformed JSON — as nobody, as a tenant and as the operator. No request may be answered with a
 * 500, and every answer must be what the document promises (the drift check in `call()` fails the
 * test otherwise). Seeded: `FUZZ_SEED` replays a run.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, signup } from "../helpers";

type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  example?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
};
interface Param {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema?: Schema;
}
interface Op {
  parameters?: Param[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface Doc {
  paths: Record<string, Record<string, Op>>;
  components: { schemas: Record<string, Schema> };
}

const SEED = Number(env.FUZZ_SEED || 0x5eed) >>> 0;
const PER_OPERATION = 24;

/** mulberry32: small, fast, good enough to spread inputs; the seed makes a run repeatable. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_STRINGS = [
  "",
  " ",
  "a",
  "x".repeat(5000),
  "💥\u0000\u2028\u202e",
  "../../etc/passwd",
  "%2e%2e%2f",
  "__proto__",
  "constructor",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "null",
  "-1",
  "9".repeat(40),
  "@example/hello",
  "ins_00000000000000000000",
  "2026-13-45T25:61:61Z",
  "2026-12-01T00:00:00+02:00",
  "https://127.0.0.1:8787/v1/me",
  "\\\\server\\share",
];
const NASTY_NUMBERS = [0, -1, 1, 1.5, -0, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, 10_000_001];

class Gen {
  constructor(
    private readonly doc: Doc,
    private readonly random: () => number,
  ) {}

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)] as T;
  }
  chance(p: number): boolean {
    return this.random() < p;
  }

  resolve(s: Schema): Schema {
    let out = s;
    for (let i = 0; out.$ref && i < 10; i++)
      out = this.doc.components.schemas[out.$ref.split("/").pop() ?? ""] ?? {};
    return out;
  }

  value(input: Schema | undefined, depth = 0): unknown {
    const s = this.resolve(input ?? {});
    if (depth > 6) return null;
    if (this.chance(0.08)) return this.wild();
    if ("example" in s && this.chance(0.3)) return s.example;
    const variants = s.anyOf ?? s.oneOf;
    if (variants?.length) return this.value(this.pick(variants), depth + 1);
    if (s.allOf?.length)
      return Object.assign({}, ...s.allOf.map((x) => this.value(x, depth + 1) ?? {}));
    if (s.enum?.length) return this.chance(0.9) ? this.pick(s.enum) : this.pick(NASTY_STRINGS);
    const type = Array.isArray(s.type) ? this.pick(s.type) : s.type;
    switch (type) {
      case "string":
        if (s.format === "date-time" && this.chance(0.6))
          return new Date(Date.now() + 86_400_000).toISOString();
        return this.chance(0.5) ? `fz${Math.floor(this.random() * 1e6)}` : this.pick(NASTY_STRINGS);
      case "integer":
      case "number":
        return this.chance(0.5)
          ? (s.minimum ?? 0) + Math.floor(this.random() * 10)
          : this.pick(NASTY_NUMBERS);
      case "boolean":
        return this.chance(0.5);
      case "null":
        return null;
      case "array": {
        const n = Math.floor(this.random() * 4);
        return Array.from({ length: n }, () => this.value(s.items, depth + 1));
      }
      default: {
        const out: Record<string, unknown> = {};
        for (const [name, prop] of Object.entries(s.properties ?? {})) {
          const required = s.required?.includes(name);
          if (required ? this.chance(0.93) : this.chance(0.5))
            out[name] = this.value(prop, depth + 1);
        }
        if (this.chance(0.1)) out[this.pick(["__proto__", "constructor", "extra", "toString"])] = 1;
        return out;
      }
    }
  }

  wild(): unknown {
    return this.pick([
      null,
      true,
      0,
      -1,
      "",
      [],
      {},
      this.pick(NASTY_STRINGS),
      [[[]]],
      { a: { b: {} } },
    ]);
  }

  segment(p: Param): string {
    const v = this.value(p.schema);
    const text = typeof v === "string" ? v : JSON.stringify(v);
    return encodeURIComponent(text.slice(0, 300) || "x");
  }
}

let doc: Doc;
let tenantKey = "";

beforeAll(async () => {
  doc = (await (await call("/openapi.json")).json()) as Doc;
  tenantKey = (await signup("fz")).apiKey;
});

describe("a schema-driven fuzzer against every operation", () => {
  it(
    "never gets a 500, and every answer is what the document promises",
    { timeout: 240_000 },
    async () => {
      const gen = new Gen(doc, prng(SEED));
      const failures: string[] = [];
      let sent = 0;
      for (const [template, ops] of Object.entries(doc.paths)) {
        // Plugin endpoints answer with the plugin's own responses (the hostile-plugin suites).
        if (template.endsWith("{path}")) continue;
        for (const [method, op] of Object.entries(ops)) {
          for (let i = 0; i < PER_OPERATION; i++) {
            const params = op.parameters ?? [];
            const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
              const p = params.find((x) => x.name === name && x.in === "path");
              return p ? gen.segment(p) : "x";
            });
            const query = new URLSearchParams();
            const headers = new Headers();
            for (const p of params) {
              if (p.in === "path" || !(p.required || gen.chance(0.5))) continue;
              const v = gen.value(p.schema);
              const text = typeof v === "string" ? v : JSON.stringify(v);
              if (p.in === "query") query.set(p.name, text.slice(0, 500));
              else if (p.in === "header" && !/[^\x20-\x7e]/.test(text))
                headers.set(p.name, text.slice(0, 300));
            }
            const who = gen.pick(["nobody", "tenant", "operator"] as const);
            const key =
              who === "tenant" ? tenantKey : who === "operator" ? OPERATOR_KEY : undefined;
            const content = op.requestBody?.content ?? {};
            let body: string | undefined;
            const type = Object.keys(content)[0];
            if (type) {
              const shape = gen.chance(0.85)
                ? "schema"
                : gen.pick(["malformed", "wrong-type", "none"]);
              if (shape === "schema") {
                const v = gen.value(content[type]?.schema);
                body =
                  type === "application/x-www-form-urlencoded"
                    ? new URLSearchParams(
                        Object.entries(v && typeof v === "object" ? v : {}).map(([k, x]) => [
                          k,
                          String(x),
                        ]),
                      ).toString()
                    : type.includes("json")
                      ? JSON.stringify(v)
                      : String(v);
                headers.set("content-type", type);
              } else if (shape === "malformed") {
                body = '{"a": [1, 2,, }';
                headers.set("content-type", type);
              } else if (shape === "wrong-type") {
                body = "a=1";
                headers.set("content-type", "text/plain");
              }
            }
            const url = `${path}${query.size ? `?${query}` : ""}`;
            let res: Response;
            try {
              res = await call(url, { method: method.toUpperCase(), key, headers, body });
            } catch (err) {
              failures.push(
                `${method.toUpperCase()} ${url} as ${who}: ${String(err).slice(0, 400)}`,
              );
              continue;
            }
            sent++;
            if (res.status === 500)
              failures.push(
                `${method.toUpperCase()} ${url} as ${who}: 500 ${(await res.text()).slice(0, 200)}`,
              );
            else await res.body?.cancel();
          }
        }
      }
      // One line per kind of failure (the drift check's message without the request's values).
      const kinds = [
        ...new Set(
          failures.map(
            (f) =>
              f
                .split("\n")
                .slice(1)
                .join(" ")
                .replace(/ — body.*$/, "") || f,
          ),
        ),
      ];
      expect(kinds.slice(0, 30), `seed ${SEED}: ${failures.length} of ${sent} failed`).toEqual([]);
      expect(sent).toBeGreaterThan(1500);
    },
  );
});
