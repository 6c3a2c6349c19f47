/**
 * Matching a call against the routes a manifest declares (pure: no I/O). The gateway — and the
 * standalone dev server, with the same code — answers an undeclared path with 404 and a declared
 * path with another method with 405 and `Allow`, before the plugin's isolate is woken.
 *
 * A path is matched segment by segment (after the platform's path checks, plugin-path.ts):
 * literals compare after percent-decoding, `{name}`/`:name` take one non-empty segment, a final
 * `*` takes the rest (zero or more segments). One trailing slash is ignored. When several routes
 * match, the most specific wins: at the first segment where they differ, a literal beats a
 * parameter, which beats `*`. `HEAD` is served by a `GET` route; `ANY` allows every method.
 * A manifest without `routes` lets every call through (as if it declared `ANY /*`).
 *
 * Cost: compiled once per route list (cached by identity), then one pass over the routes (≤ 100)
 * per call with no allocation beyond the segments.
 */
import { ROUTE_METHODS, type ManifestRoute } from "./manifest";

type Segment =
  { kind: "literal"; value: string } | { kind: "param"; name: string } | { kind: "rest" };

interface Compiled {
  route: ManifestRoute;
  index: number;
  segments: Segment[];
  rest: boolean;
}

export type RouteMatch =
  | { ok: true; route: ManifestRoute; index: number; params: Record<string, string> }
  | { ok: false; status: 404 }
  | { ok: false; status: 405; allow: string[] };

const compiled = new WeakMap<readonly ManifestRoute[], Compiled[]>();

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function compile(routes: readonly ManifestRoute[]): Compiled[] {
  let out = compiled.get(routes);
  if (out) return out;
  out = routes.map((route, index) => {
    const parts = route.path === "/" ? [] : route.path.replace(/\/$/, "").slice(1).split("/");
    const segments: Segment[] = parts.map((part) => {
      if (part === "*") return { kind: "rest" };
      const m = /^\{(.+)\}$|^:(.+)$/.exec(part);
      if (m) return { kind: "param", name: m[1] ?? m[2] ?? "" };
      return { kind: "literal", value: decode(part) ?? part };
    });
    return { route, index, segments, rest: segments.at(-1)?.kind === "rest" };
  });
  compiled.set(routes, out);
  return out;
}

/** The path's segments, decoded; null when one cannot be decoded. */
function segmentsOf(path: string): string[] | null {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  if (trimmed === "/" || trimmed === "") return [];
  const raw = trimmed.slice(1).split("/");
  const out: string[] = [];
  for (const r of raw) {
    const d = decode(r);
    if (d === null) return null;
    out.push(d);
  }
  return out;
}

/** Params when `c` matches `segments`, else null. */
function matchPath(c: Compiled, segments: string[]): Record<string, string> | null {
  const fixed = c.rest ? c.segments.length - 1 : c.segments.length;
  if (c.rest ? segments.length < fixed : segments.length !== fixed) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < fixed; i++) {
    const s = c.segments[i] as Segment;
    const value = segments[i] as string;
    if (s.kind === "literal") {
      if (s.value !== value) return null;
    } else if (s.kind === "param") {
      if (value === "") return null;
      params[s.name] = value;
    }
  }
  return params;
}

/** Negative when `a` is more specific than `b`. */
function specificity(a: Compiled, b: Compiled): number {
  const rank = (s: Segment | undefined) =>
    s === undefined ? 3 : s.kind === "literal" ? 0 : s.kind === "param" ? 1 : 2;
  for (let i = 0; i < Math.max(a.segments.length, b.segments.length); i++) {
    const d = rank(a.segments[i]) - rank(b.segments[i]);
    if (d !== 0) return d;
  }
  return a.index - b.index;
}

const allows = (route: ManifestRoute, method: string) =>
  route.method === "ANY" ||
  route.method === method ||
  (method === "HEAD" && route.method === "GET");

/**
 * The declared route serving `method path`, or why none does. `routes` undefined: the manifest
 * declares none, and every call goes through.
 */
export function matchRoute(
  routes: readonly ManifestRoute[] | undefined,
  method: string,
  path: string,
): RouteMatch | { ok: true; route: null; index: -1; params: Record<string, string> } {
  if (routes === undefined) return { ok: true, route: null, index: -1, params: {} };
  const segments = segmentsOf(path);
  if (segments === null) return { ok: false, status: 404 };
  let best: { c: Compiled; params: Record<string, string> } | null = null;
  const allow = new Set<string>();
  let pathMatched = false;
  for (const c of compile(routes)) {
    const params = matchPath(c, segments);
    if (!params) continue;
    pathMatched = true;
    if (!allows(c.route, method)) {
      if (c.route.method === "ANY") for (const m of ROUTE_METHODS) allow.add(m);
      else allow.add(c.route.method);
      if (c.route.method === "GET") allow.add("HEAD");
      continue;
    }
    if (!best || specificity(c, best.c) < 0) best = { c, params };
  }
  if (best) return { ok: true, route: best.c.route, index: best.c.index, params: best.params };
  if (!pathMatched) return { ok: false, status: 404 };
  return { ok: false, status: 405, allow: ROUTE_METHODS.filter((m) => allow.has(m)) };
}
