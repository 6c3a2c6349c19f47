/**
 * The standalone dev server's Worker (`atoll dev` without `--platform`; the CLI bundles it into
 * packages/cli/dist/dev-host.mjs and serves it locally on workerd). It runs one plugin the way
 * the platform does — the same runtime code: Worker Loader isolates, the egress gate (only
 * granted hosts), installation storage, the call headers, path rules, deadline and size caps —
 * with no platform, no account and no network beyond what the manifest grants.
 *
 *   any path                          the plugin (as /p/{installationId}/… on the platform)
 *   PUT  /__atoll-dev/package         the built zip (x-atoll-dev-sha256)        } the CLI only:
 *   PUT  /__atoll-dev/spec            the installation (config, secrets, grants) } x-atoll-dev-secret
 *   POST /__atoll-dev/lifecycle/:hook initialize | execute | cleanup, with a JSON body
 *   GET  /__atoll-dev/logs?after=N    the plugin's console output and exceptions (redacted)
 */
import { secretsEqual, sha256Hex } from "../../../src/platform/crypto/hash";
import { problemResponse, toApiError } from "../../../src/platform/http/problem";
import { callLifecycle, invokePlugin, pluginRequest } from "../../../src/runtime/invoke";
import { hostExports, LoaderHost } from "../../../src/runtime/loader-host";
import { packageKey } from "../../../src/runtime/packages";
import { pluginPath } from "../../../src/runtime/plugin-path";
import type { PluginSpec } from "../../../src/runtime/spec";
import { logRecords, secretValuesOf, type LogRecord } from "../../../src/runtime/logs";
import { WorkerEntrypoint } from "cloudflare:workers";
import {
  admit,
  isJsonContentType,
  refusalProblem,
  responseErrors,
} from "../../../src/contract/route-input";
import type { ManifestRoute } from "../../../src/contract/manifest";

export { Egress } from "../../../src/runtime/egress";
export { InstallationStore, PluginStorage } from "../../../src/runtime/storage";
export { HostIntegrationGate as IntegrationGate } from "../../plugin-host/src/integration-bridge";

/**
 * The dev server's tail: the plugin's traces, redacted with its dev secrets like the platform's
 * (runtime/logs.ts), kept in memory (the newest DEV_LOGS_KEPT; a restart starts afresh).
 */
const DEV_LOGS_KEPT = 1_000;
const devLogs: (LogRecord & { id: number })[] = [];
let lastLogId = 0;

export class LogTail extends WorkerEntrypoint<DevEnv, { installationId: string }> {
  override async tail(events: TraceItem[]): Promise<void> {
    const spec = await currentSpec(this.env);
    for (const r of logRecords(events, spec ? secretValuesOf(spec) : []))
      devLogs.push({ ...r, id: ++lastLogId });
    if (devLogs.length > DEV_LOGS_KEPT) devLogs.splice(0, devLogs.length - DEV_LOGS_KEPT);
  }
}

interface DevEnv {
  PACKAGES: R2Bucket;
  LOADER: WorkerLoader;
  ATOLL_DEV_SECRET: string;
  ATOLL_EGRESS_OVERRIDES: string;
  ATOLL_GATEWAY_URL: string;
}

const CONTROL = "/__atoll-dev/";
const SPEC_KEY = "dev/spec.json";
const DEADLINE_MS = 10_000;
const LIFECYCLE_HOOKS = ["initialize", "execute", "cleanup"] as const;

const caller = (requestId: string) => ({
  orgId: "org_local",
  subject: "developer",
  requestId,
});

async function currentSpec(env: DevEnv): Promise<PluginSpec | null> {
  const object = await env.PACKAGES.get(SPEC_KEY);
  return object ? ((await object.json()) as PluginSpec) : null;
}

async function control(request: Request, env: DevEnv, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  const what = url.pathname.slice(CONTROL.length);
  if (what === "package" && request.method === "PUT") {
    const bytes = new Uint8Array(await request.arrayBuffer());
    const sha256 = await sha256Hex(bytes);
    if (sha256 !== request.headers.get("x-atoll-dev-sha256"))
      return Response.json({ error: "the package's SHA-256 does not match" }, { status: 400 });
    await env.PACKAGES.put(packageKey(sha256), bytes, { sha256 });
    return new Response(null, { status: 204 });
  }
  if (what === "spec" && request.method === "PUT") {
    await env.PACKAGES.put(SPEC_KEY, await request.text());
    return new Response(null, { status: 204 });
  }
  if (what === "logs" && request.method === "GET") {
    const after = Number(url.searchParams.get("after") ?? 0) || 0;
    const logs = devLogs.filter((r) => r.id > after).slice(0, 500);
    return Response.json({ logs, next: logs.at(-1)?.id ?? Math.max(after, 0) });
  }
  const hook = /^lifecycle\/([a-z]+)$/.exec(what)?.[1];
  if (hook && request.method === "POST") {
    if (!(LIFECYCLE_HOOKS as readonly string[]).includes(hook))
      return Response.json({ error: `no hook ${hook}` }, { status: 404 });
    const spec = await currentSpec(env);
    if (!spec) return Response.json({ error: "no plugin loaded yet" }, { status: 409 });
    const host = new LoaderHost(env.LOADER, env.PACKAGES, hostExports(ctx), undefined, DEADLINE_MS);
    const result = await callLifecycle(
      host,
      spec,
      caller(crypto.randomUUID()),
      hook as (typeof LIFECYCLE_HOOKS)[number],
      await request.json(),
      DEADLINE_MS,
    );
    return Response.json(result);
  }
  return Response.json({ error: "unknown control route" }, { status: 404 });
}

/**
 * The dev server checks what the platform does not on its hot path: a JSON answer against the
 * schema the route declares for its status. A mismatch is a warning in the logs (atoll dev
 * prints it) and `x-atoll-dev-schema: mismatch`; `atoll test` fails on it.
 */
async function checkedResponse(
  route: ManifestRoute,
  method: string,
  res: Response,
): Promise<Response> {
  const schema = route.responses?.[String(res.status)];
  if (!schema || !isJsonContentType(res.headers.get("content-type"))) return res;
  const text = await res.text();
  let body: unknown;
  let errors: { path: string; message: string }[];
  try {
    body = JSON.parse(text);
    errors = responseErrors(route, res.status, body);
  } catch {
    errors = [{ path: "response", message: "is not valid JSON" }];
  }
  const out = new Response(text, res);
  out.headers.set("x-atoll-dev-schema", errors.length === 0 ? "ok" : "mismatch");
  if (errors.length > 0)
    devLogs.push({
      id: ++lastLogId,
      at: Date.now(),
      level: "warn",
      message: `the ${res.status} answer to ${method} ${route.path} does not match its declared schema: ${errors
        .slice(0, 3)
        .map((e) => `${e.path} ${e.message}`)
        .join("; ")}`,
    });
  return out;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    const requestId = `req_dev_${crypto.randomUUID().slice(0, 8)}`;
    try {
      if (url.pathname.startsWith(CONTROL)) {
        const secret = request.headers.get("x-atoll-dev-secret") ?? "";
        if (!env.ATOLL_DEV_SECRET || !(await secretsEqual(secret, env.ATOLL_DEV_SECRET)))
          return Response.json({ error: "not found" }, { status: 404 });
        return await control(request, env, ctx);
      }
      const spec = await currentSpec(env);
      if (!spec)
        return Response.json({ error: "atoll dev is still building the plugin" }, { status: 503 });
      // The raw path, checked by the platform's own rules (dot segments, encoded separators…).
      const raw = /^[a-z]+:\/\/[^/]+(\/[^?#]*)?/i.exec(request.url)?.[1] ?? "/";
      const checked = pluginPath(raw);
      if (!checked.ok)
        return Response.json({ error: `refused path: ${checked.reason}` }, { status: 400 });
      // The platform's route rules, with its code: undeclared paths and methods, and calls that
      // break the declared schemas, are refused before the plugin runs.
      const admitted = await admit(spec.routes, {
        method: request.method,
        path: checked.path,
        query: url.searchParams,
        contentType: request.headers.get("content-type"),
        readBody: () => request.text(),
      });
      if (!admitted.ok)
        return problemResponse(
          refusalProblem(admitted, spec.plugin, request.method),
          requestId,
          url.pathname,
        );
      const host = new LoaderHost(
        env.LOADER,
        env.PACKAGES,
        hostExports(ctx),
        undefined,
        DEADLINE_MS,
      );
      const req = pluginRequest(spec, caller(requestId), `${checked.path}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body:
          admitted.body ??
          (request.method === "GET" || request.method === "HEAD" ? null : request.body),
      });
      const { response, elapsedMs } = await invokePlugin(host, spec, req, DEADLINE_MS);
      const out = new Response(response.body, response);
      out.headers.set("x-atoll-plugin-time", String(elapsedMs));
      return admitted.route ? await checkedResponse(admitted.route, request.method, out) : out;
    } catch (err) {
      return problemResponse(toApiError(err), requestId, url.pathname);
    }
  },
} satisfies ExportedHandler<DevEnv>;
