/**
 * Calling a plugin: builds the request the plugin sees (caller credentials stripped, trusted
 * identity headers added), enforces a deadline, caps and sanitises the response, and turns every
 * way a plugin can fail into a problem that names the cause. A failing plugin never affects the
 * gateway or other plugins.
 */
import { CALL_HEADERS, LIFECYCLE, PLATFORM_HEADER_PREFIX } from "../contract/protocol";
import type { Context } from "hono";
import type { AppEnv } from "../platform/http/router";
import { ApiError } from "../platform/http/problem";
import type { PluginHost } from "./host";
import { hostExports, type HostExports, LoaderHost } from "./loader-host";
import { PackageIntegrityError } from "./packages";
import { pluginUrl } from "./plugin-path";
import { redactor, secretValuesOf } from "./logs";
import { HostUnreachableError, ServiceHost } from "./service-host";
import { ScriptsApi } from "./cloudflare-api";
import { DispatchHost } from "./dispatch-host";
import {
  MAX_PLUGIN_HEADER_BYTES,
  PLUGIN_ORIGIN,
  PluginHeadersTooLargeError,
  headerBytes,
  type PluginSpec,
} from "./spec";

export { PLUGIN_ORIGIN };

/** An error's message as the caller and the platform's log may see it: redacted, at most 1,000 characters. */
function plainMessage(spec: PluginSpec, err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return redactor(secretValuesOf(spec))(raw).slice(0, 1_000);
}

/** Reserved paths of the plugin lifecycle (the SDK implements them). */
export { LIFECYCLE };
export const MAX_PLUGIN_RESPONSE_BYTES = 5 * 1024 * 1024;
/** Wall-clock deadline of one plugin call (the CPU limit is enforced by the isolate's host). */
export const PLUGIN_DEADLINE_MS = 10_000;
/** Longest pause allowed between two chunks of a plugin's response body. */
export const PLUGIN_IDLE_MS = 2_000;

const STRIPPED_REQUEST_HEADERS = [
  "authorization",
  "cookie",
  "x-api-key",
  "cf-connecting-ip",
  "x-real-ip",
];

export interface Caller {
  orgId: string;
  subject: string;
  requestId: string;
}

/** Picks the configured backend for a request. */
export function pluginHost(c: Context<AppEnv>): PluginHost {
  // Read lazily: only the loader backend needs the Worker's exports (and app.request() has none).
  return hostFor(c.env, () => hostExports(c.executionCtx));
}

/** Picks the configured backend; `exports` are the Worker's own (ctx.exports), for scheduled jobs too. */
export function hostFor(env: Env, exports: () => HostExports): PluginHost {
  switch (env.ATOLL_PLUGIN_BACKEND) {
    case "service":
      return new ServiceHost(
        env.ATOLL_PLUGIN_HOST_URL,
        env.ATOLL_HOST_SECRET ?? "",
        pluginDeadline(env),
      );
    case "dispatch": {
      if (!env.DISPATCHER)
        throw new ApiError({
          status: 503,
          type: "unavailable",
          title: "Service unavailable",
          detail: "Plugins cannot run right now.",
          internal: "ATOLL_PLUGIN_BACKEND=dispatch without a DISPATCHER binding",
        });
      const api = new ScriptsApi(
        env.ATOLL_CF_API_BASE,
        env.ATOLL_CF_ACCOUNT_ID,
        env.ATOLL_DISPATCH_NAMESPACE,
        env.ATOLL_CF_API_TOKEN ?? "",
      );
      return new DispatchHost(env.DISPATCHER, api, env.PACKAGES, env.INSTALLATION_STORE);
    }
    case "loader":
    default:
      return new LoaderHost(
        env.LOADER,
        env.PACKAGES,
        exports(),
        env.INSTALLATION_STORE,
        pluginDeadline(env),
      );
  }
}

/** The deadline of one plugin call: ATOLL_PLUGIN_DEADLINE_MS, default PLUGIN_DEADLINE_MS. */
export function pluginDeadline(env: Env): number {
  const ms = Number(env.ATOLL_PLUGIN_DEADLINE_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : PLUGIN_DEADLINE_MS;
}

/** The request the plugin receives; `path` (with its query string) must already be checked (plugin-path.ts). */
export function pluginRequest(
  spec: PluginSpec,
  caller: Caller,
  path: string,
  init: { method: string; headers?: Headers; body?: BodyInit | null },
): Request {
  const headers = new Headers(init.headers);
  for (const name of [...headers.keys()]) {
    if (STRIPPED_REQUEST_HEADERS.includes(name) || name.startsWith(PLATFORM_HEADER_PREFIX))
      headers.delete(name);
  }
  headers.set(CALL_HEADERS.installation, spec.installationId);
  headers.set(CALL_HEADERS.organization, caller.orgId);
  headers.set(CALL_HEADERS.subject, caller.subject);
  headers.set(CALL_HEADERS.requestId, caller.requestId);
  headers.set(CALL_HEADERS.environment, spec.environment);
  const q = path.indexOf("?");
  const url =
    q < 0
      ? pluginUrl(PLUGIN_ORIGIN, path)
      : pluginUrl(PLUGIN_ORIGIN, path.slice(0, q), path.slice(q));
  return new Request(url, { method: init.method, headers, body: init.body ?? null });
}

function pluginProblem(
  status: 502 | 504,
  type: string,
  title: string,
  detail: string,
  internal?: string,
): ApiError {
  return new ApiError({ status, type, title, detail, ...(internal ? { internal } : {}) });
}

/**
 * Calls the plugin; a thrown ApiError names the cause (502 plugin error, 504 limit or timeout).
 * The deadline covers the whole response, body included, and the body may not pause longer than
 * PLUGIN_IDLE_MS between chunks: a plugin that trickles its answer is cut off like one that never
 * answers. Failures are classified by their type (set by the platform), never by their text.
 */
/** The 503 a halted version answers with, until the tenant moves to another version. */
export function haltedProblem(spec: Pick<PluginSpec, "plugin" | "version" | "halted">): ApiError {
  return spec.halted === "revoked"
    ? new ApiError({
        status: 503,
        type: "version-revoked",
        title: "Version revoked",
        detail: `${spec.plugin}@${spec.version} was revoked and is no longer served; move this installation to another version (PATCH /v1/installations/{id}).`,
      })
    : new ApiError({
        status: 503,
        type: "listing-stopped",
        title: "Listing stopped",
        detail: `${spec.plugin} is suspended by the platform operator and is not served until the suspension is lifted.`,
      });
}

export async function invokePlugin(
  host: PluginHost,
  spec: PluginSpec,
  request: Request,
  deadlineMs = PLUGIN_DEADLINE_MS,
): Promise<{ response: Response; elapsedMs: number }> {
  // The kill switch: a revoked version (or a listing stopped by the operator) never runs again.
  if (spec.halted) throw haltedProblem(spec);
  const started = Date.now();
  const deadlineAt = started + deadlineMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), deadlineMs);
  });
  let outcome: Response | "timeout";
  try {
    outcome = await Promise.race([host.fetch(spec, request), deadline]);
  } catch (err) {
    // The plugin's own words reach the caller and the platform's log: redacted like its logs
    // (its secrets, credential shapes), never whole.
    const message = plainMessage(spec, err);
    if (err instanceof PackageIntegrityError) {
      throw pluginProblem(
        502,
        "plugin-integrity",
        "Plugin refused",
        "The plugin's package failed its integrity check and was not run.",
        message,
      );
    }
    if (err instanceof PluginHeadersTooLargeError) throw headersTooLarge();
    if (err instanceof HostUnreachableError) {
      throw pluginProblem(
        504,
        "plugin-timeout",
        "Plugin timed out",
        "The plugin stopped answering (its isolate host was recycled); the next call starts it afresh.",
        message,
      );
    }
    // Cloudflare's own words when a user Worker hits its custom limits. Only the dispatch backend
    // enforces them: elsewhere such a text can only be the plugin's own, and is not believed.
    if (
      host.kind === "dispatch" &&
      /exceeded (its )?CPU|CPU time limit|too many subrequests|exceeded (its )?memory/i.test(
        message,
      )
    ) {
      throw pluginProblem(
        504,
        "plugin-limit",
        "Plugin exceeded its limits",
        `The plugin exceeded its limits (${spec.limits.cpuMs} ms CPU, ${spec.limits.subrequests} subrequests).`,
        message,
      );
    }
    throw pluginProblem(
      502,
      "plugin-error",
      "Plugin failed",
      `The plugin threw an error: ${message.slice(0, 300)}`,
      message,
    );
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  if (outcome === "timeout") {
    throw pluginProblem(
      504,
      "plugin-timeout",
      "Plugin timed out",
      `The plugin did not answer within ${deadlineMs} ms.`,
    );
  }
  return {
    response: await sanitise(outcome, deadlineAt, deadlineMs),
    elapsedMs: Date.now() - started,
  };
}

/**
 * Strips cookies the plugin tries to set for the platform and the platform's own x-atoll-*
 * headers, and reads the body whole, within the
 * size cap and the call's deadline (with an idle timeout between chunks).
 */
export async function sanitise(
  res: Response,
  deadlineAt = Date.now() + PLUGIN_DEADLINE_MS,
  deadlineMs = PLUGIN_DEADLINE_MS,
): Promise<Response> {
  if (headerBytes(res.headers) > MAX_PLUGIN_HEADER_BYTES) {
    await res.body?.cancel();
    throw headersTooLarge();
  }
  const headers = new Headers(res.headers);
  headers.delete("set-cookie");
  // x-atoll-* answer headers are the platform's (plugin time, limit warnings, host signals).
  for (const name of [...headers.keys()])
    if (name.startsWith(PLATFORM_HEADER_PREFIX)) headers.delete(name);
  const declared = headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_PLUGIN_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw tooLarge();
  }
  if (!res.body)
    return new Response(null, { status: res.status, statusText: res.statusText, headers });
  const body = await readWithin(res.body, deadlineAt, deadlineMs);
  headers.delete("content-length");
  return new Response(body, { status: res.status, statusText: res.statusText, headers });
}

/** Reads a body up to the size cap, before `deadlineAt`, with at most PLUGIN_IDLE_MS between chunks. */
async function readWithin(
  stream: ReadableStream<Uint8Array>,
  deadlineAt: number,
  deadlineMs: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  // One watchdog per body, not a timer per chunk: it wakes when the idle time or the deadline
  // could have run out, and settles `stalled` if it has (else it sleeps for what is left).
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stall: (v: "timeout") => void = () => undefined;
  const stalled = new Promise<"timeout">((resolve) => (stall = resolve));
  const watch = () => {
    const now = Date.now();
    const left = Math.min(last + PLUGIN_IDLE_MS, deadlineAt) - now;
    if (left <= 0) stall("timeout");
    else timer = setTimeout(watch, left);
  };
  try {
    if (deadlineAt - last <= 0) throw slowBody(deadlineMs);
    watch();
    for (;;) {
      // `stalled` first: once it has settled it wins even against a chunk already queued.
      const next = await Promise.race([stalled, reader.read()]);
      if (next === "timeout") throw slowBody(deadlineMs);
      if (next.done) break;
      last = Date.now();
      total += next.value.byteLength;
      if (total > MAX_PLUGIN_RESPONSE_BYTES) throw tooLarge();
      chunks.push(next.value);
    }
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    if (err instanceof ApiError) throw err;
    // The stream's error text is the plugin's (it may hold its secrets): not repeated.
    throw pluginProblem(
      502,
      "plugin-error",
      "Plugin failed",
      "The plugin's response body failed while it was being read.",
      `response body failed: ${err instanceof Error ? err.name : typeof err}`,
    );
  } finally {
    clearTimeout(timer);
  }
  if (chunks.length === 1 && chunks[0]?.byteLength === total)
    return chunks[0] as Uint8Array<ArrayBuffer>;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

const slowBody = (deadlineMs: number) =>
  pluginProblem(
    504,
    "plugin-timeout",
    "Plugin timed out",
    `The plugin did not finish its answer within ${deadlineMs} ms (or paused it longer than ${PLUGIN_IDLE_MS} ms).`,
  );

const headersTooLarge = () =>
  pluginProblem(
    502,
    "plugin-response-too-large",
    "Plugin response too large",
    `The plugin's response headers exceed ${MAX_PLUGIN_HEADER_BYTES} bytes.`,
  );

const tooLarge = () =>
  pluginProblem(
    502,
    "plugin-response-too-large",
    "Plugin response too large",
    `The plugin's response exceeds ${MAX_PLUGIN_RESPONSE_BYTES} bytes.`,
  );

/** Calls a lifecycle hook with a JSON body; 404 means the plugin does not implement it. */
export async function callLifecycle(
  host: PluginHost,
  spec: PluginSpec,
  caller: Caller,
  hook: keyof typeof LIFECYCLE,
  payload: unknown,
  deadlineMs = PLUGIN_DEADLINE_MS,
): Promise<{ implemented: boolean; status: number; body: unknown }> {
  const req = pluginRequest(spec, caller, LIFECYCLE[hook], {
    method: "POST",
    headers: new Headers({ "content-type": "application/json" }),
    body: JSON.stringify(payload),
  });
  const { response } = await invokePlugin(host, spec, req, deadlineMs);
  const text = await response.text();
  if (response.status === 404) return { implemented: false, status: 404, body: null };
  let body: unknown = null;
  const isJson = /^application\/(?:[\w.+-]+\+)?json/i.test(
    response.headers.get("content-type") ?? "",
  );
  // initialize and cleanup only need a status; a plain Worker may answer them with any body.
  if (hook !== "execute" && !isJson)
    return { implemented: true, status: response.status, body: null };
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      throw pluginProblem(
        502,
        "plugin-bad-response",
        "Plugin answered garbage",
        `The plugin's ${hook} answer is not JSON.`,
      );
    }
  }
  return { implemented: true, status: response.status, body };
}
