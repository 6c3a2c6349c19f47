/**
 * `{endpoint}/…`: plugin traffic. The gateway has already authenticated and rate-limited the
 * caller (per credential, class "plugin"); here it checks the installation belongs to the caller,
 * applies the installation's own limit, strips the caller's credentials, adds who is calling, and
 * forwards to the plugin's isolate. Warm path: no D1 (the installation spec is cached).
 */
import { z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import type { Context } from "hono";
import { createRouter, type AppEnv } from "../platform/http/router";
import { requireScope } from "../access/principal";
import { ApiError, notFound, problemResponse } from "../platform/http/problem";
import { AUTHENTICATED, problems } from "../platform/http/schemas";
import { isStale, takeInstallationLease, takeLease } from "../access/ratelimit/installation";
import { invokePlugin, pluginDeadline, pluginHost, pluginRequest } from "../runtime/invoke";
import { appInstallation, forgetInstallation, installationSpec } from "../runtime/resolve";
import { tilled, tillOf } from "../revenue/till";
import { pluginPath } from "../runtime/plugin-path";
import { admit, refusalProblem } from "../contract/route-input";

export const PLUGIN_BODY_LIMIT = 10 * 1024 * 1024;
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const INSTALLATION_ID = /^ins_[0-9A-Za-z]{1,40}$/;

export const proxyRoutes = createRouter();

const lastWarned = new Map<string, number>();
function shouldLog(installationId: string, now = Date.now()): boolean {
  const last = lastWarned.get(installationId) ?? 0;
  if (now - last < 60_000) return false;
  if (lastWarned.size > 10_000) lastWarned.clear();
  lastWarned.set(installationId, now);
  return true;
}

function forward(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param("installationId") ?? "";
  if (!INSTALLATION_ID.test(id)) throw notFound("The installation");
  return forwardTo(c, id, `/p/${id}`);
}

/** `/apps/{organization}/{environment}/{app}/…`: an installed app at its own endpoint. */
async function forwardApp(c: Context<AppEnv>): Promise<Response> {
  const { organization: org = "", environment = "", app = "" } = c.req.param();
  const id = await appInstallation(c.env, org, environment, app);
  if (!id) throw notFound("The app");
  return forwardTo(c, id, `/apps/${org}/${environment}/${app}`);
}

/** Forwards the request to installation `id`; `prefix` is the part of the path that names it. */
async function forwardTo(
  c: Context<AppEnv>,
  id: string,
  prefix: string,
  reloaded = false,
): Promise<Response> {
  const p = requireScope(c, "plugins:call");
  const spec = await installationSpec(c.env, id);
  if (!spec || (p.role !== "operator" && spec.orgId !== p.orgId))
    throw notFound("The installation");

  const path = callerPath(c, prefix);
  // The manifest's routes are the contract: an undeclared path or method, or parameters, query
  // or body that do not match the declared schemas, never wake the isolate.
  const url = new URL(c.req.url);
  const admitted = await admit(spec.routes, {
    method: c.req.method,
    path,
    query: url.searchParams,
    contentType: c.req.header("content-type") ?? null,
    readBody: () => c.req.text(),
  });
  if (!admitted.ok)
    return problemResponse(
      refusalProblem(admitted, spec.plugin, c.req.method),
      c.get("requestId"),
      c.req.path,
    );
  const route = admitted.route;
  let routePolicy: Record<string, string> | null = null;
  if (route?.limit) {
    const limit = { quota: route.limit.requests, windowSec: route.limit.window };
    const taken = await takeLease(
      c.env,
      // Keyed by the route's identity, not its position: a version that reorders the routes
      // (an upgrade or downgrade is the tenant's to make) must not hand out a fresh bucket.
      `route:${id}:${route.method} ${route.path}:${p.orgId ?? p.subject}`,
      "route",
      limit,
      `This route accepts ${limit.quota} requests per ${limit.windowSec} s from your organization.`,
    );
    if (!taken.ok) return problemResponse(taken.problem, c.get("requestId"), c.req.path);
    routePolicy = taken.headers;
  }
  const installationLimit = await takeInstallationLease(c.env, spec);
  if (!installationLimit.ok)
    return problemResponse(installationLimit.problem, c.get("requestId"), c.req.path);
  // The kill switch's path to every isolate: the installation's lease says when what isolates
  // cached about it went stale (a revoked version, a stopped listing, a fallback), so this
  // isolate reloads the spec within one lease (≤ 1 s) instead of the cache's 10 s.
  if (!reloaded && isStale(installationLimit, spec.loadedAt)) {
    forgetInstallation(c.env, id);
    return forwardTo(c, id, prefix, true);
  }

  const search = url.search;
  const body: BodyInit | null =
    admitted.body ?? (c.req.method === "GET" || c.req.method === "HEAD" ? null : c.req.raw.body);
  const req = pluginRequest(
    spec,
    { orgId: spec.orgId, subject: p.subject, requestId: c.get("requestId") },
    path + search,
    {
      method: c.req.method,
      headers: c.req.raw.headers,
      body,
    },
  );
  // The till: the paid-listing check and the meter, as for execute and events.
  const { response, elapsedMs } = await tilled(
    tillOf(c),
    spec,
    () => invokePlugin(pluginHost(c), spec, req, pluginDeadline(c.env)),
    (o) => o.response.status,
  );
  response.headers.set("x-atoll-plugin-time", String(elapsedMs));
  // The platform's RateLimit headers are the platform's: a plugin's own are dropped. The route's
  // policy goes beside the plan's (the rate-limit middleware prepends the plan's).
  response.headers.delete("ratelimit");
  response.headers.delete("ratelimit-policy");
  if (routePolicy) for (const [k, v] of Object.entries(routePolicy)) response.headers.set(k, v);
  if (elapsedMs > spec.limits.cpuMs) {
    const warning = `this call took ${elapsedMs} ms; the plugin's production CPU limit is ${spec.limits.cpuMs} ms`;
    response.headers.set("x-atoll-limit-warning", warning);
    // Logged at most once a minute per installation: a slow plugin under load must not turn
    // every request into a log write.
    if (shouldLog(id))
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "plugin call over its CPU limit",
          installationId: id,
          plugin: spec.plugin,
          elapsedMs,
          cpuMs: spec.limits.cpuMs,
          requestId: c.get("requestId"),
        }),
      );
  }
  return response;
}

/**
 * The plugin's part of the caller's path, exactly as sent (still percent-encoded), checked by
 * plugin-path.ts: lifecycle paths and every form that a parser could turn into one are refused.
 */
function callerPath(c: Context<AppEnv>, prefix: string): string {
  const raw = new URL(c.req.url).pathname;
  if (!raw.startsWith(prefix)) throw notFound("The route");
  const checked = pluginPath(raw.slice(prefix.length));
  if (!checked.ok) {
    if (checked.reason.includes("__atoll")) throw notFound("The route");
    throw new ApiError({
      status: 400,
      type: "invalid-plugin-path",
      title: "Invalid path",
      detail: `This path cannot be sent to a plugin: ${checked.reason}.`,
    });
  }
  return checked.path;
}

const limitBody = bodyLimit({
  maxSize: PLUGIN_BODY_LIMIT,
  onError: () => {
    throw new ApiError({
      status: 413,
      type: "payload-too-large",
      title: "Request body too large",
      detail: `Plugin requests are at most ${PLUGIN_BODY_LIMIT} bytes.`,
    });
  },
});

proxyRoutes.on(METHODS, "/p/:installationId", limitBody, forward);
proxyRoutes.on(METHODS, "/p/:installationId/*", limitBody, forward);
proxyRoutes.on(METHODS, "/apps/:organization/:environment/:app", limitBody, forwardApp);
proxyRoutes.on(METHODS, "/apps/:organization/:environment/:app/*", limitBody, forwardApp);

/**
 * What the plugin endpoints answer: the plugin's own responses (any status, any content type) pass
 * through; the gateway's own refusals and failures are problem documents.
 */
const PLUGIN_ANSWER = { "*/*": { schema: {} } };
const gatewayOr = (status: number, gateway: string) => ({
  description: `${gateway} (the gateway's, as a problem document), or the plugin's own ${status} answer`,
  content: { ...problems(status)[status]?.content, ...PLUGIN_ANSWER },
});
const ENDPOINT_RESPONSES = {
  200: { description: "The plugin's own answer", content: PLUGIN_ANSWER },
  400: gatewayOr(
    400,
    "A path the gateway refuses (dot segments, encoded separators, `__atoll`), or parameters, query or body that do not match the route's declared schemas (`errors` names each field)",
  ),
  401: gatewayOr(401, "Missing, invalid, expired or revoked credential"),
  402: gatewayOr(402, "The listing is paid and the organization holds no current purchase"),
  403: gatewayOr(403, "The credential lacks the plugins:call scope"),
  404: gatewayOr(
    404,
    "No such installation (or another organization's), or a path the plugin does not declare",
  ),
  405: gatewayOr(405, "A declared path with a method it does not declare (see Allow)"),
  413: gatewayOr(413, "The request body is over the platform's limit"),
  415: gatewayOr(415, "The route declares a JSON body and the request's is not JSON"),
  429: gatewayOr(
    429,
    "Rate limit reached: the plan's, the installation's or the route's (see RateLimit-Policy and Retry-After)",
  ),
  502: gatewayOr(502, "The plugin failed (threw, answered malformed headers, or too large)"),
  503: gatewayOr(503, "Plugins cannot run right now"),
  504: gatewayOr(504, "The plugin exceeded its deadline or limits"),
  default: {
    description: "The plugin's own answer, with whatever status and content type it chose",
    content: PLUGIN_ANSWER,
  },
};

/** Documents the endpoint routes (the handler is registered above; OpenAPI cannot say "any path"). */
export function documentProxy(registry: ReturnType<typeof createRouter>["openAPIRegistry"]): void {
  for (const method of ["get", "post", "put", "patch", "delete"] as const) {
    registry.registerPath({
      method,
      path: "/apps/{organization}/{environment}/{app}/{path}",
      tags: ["Plugin endpoints"],
      summary: "Call an installed app at its own endpoint",
      description:
        "An app (a listing of kind app) installed into an environment answers here; {app} is its short name and {path} may be empty (the app's root). Same authentication, limits, headers and answers as /p/{installationId}/{path}: the app's own responses pass through as they are; the gateway's refusals and failures are problem documents.",
      security: AUTHENTICATED,
      request: {
        params: z.object({
          organization: z.string().openapi({ example: "example" }),
          environment: z.enum(["development", "staging", "production"]),
          app: z.string().openapi({ example: "ledger" }),
          path: z
            .string()
            .openapi({ description: "The app's path; may be empty or contain slashes" }),
        }),
      },
      responses: ENDPOINT_RESPONSES,
    });
    registry.registerPath({
      method,
      path: "/p/{installationId}/{path}",
      tags: ["Plugin endpoints"],
      summary: "Call an installed plugin's own routes",
      description:
        "Everything after the installation's endpoint is the plugin's path ({path} may be empty: the plugin's root). The caller's credentials are stripped; the plugin receives x-atoll-installation, x-atoll-organization, x-atoll-subject, x-atoll-request-id and x-atoll-environment. Each plugin's routes are listed in its manifest (and in its own document, /v1/marketplace/listings/{scope}/{name}/openapi.json). The plugin's own responses pass through as they are — any status, any content type; the gateway's refusals and failures are problem documents (application/problem+json).",
      security: AUTHENTICATED,
      request: {
        params: z.object({
          installationId: z.string().openapi({ example: "ins_00000000000000000000" }),
          path: z
            .string()
            .openapi({ description: "The plugin's path; may be empty or contain slashes" }),
        }),
      },
      responses: ENDPOINT_RESPONSES,
    });
  }
}
