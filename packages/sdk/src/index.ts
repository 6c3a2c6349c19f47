/**
 * The Atoll plugin SDK. A plugin is a Worker module; `definePlugin` turns a few functions and
 * itty-router routes into one, and answers the platform's lifecycle protocol (the lifecycle
 * paths, headers and bindings of src/contract/protocol.ts). Everything else goes to the plugin's
 * routes. It imports only the plugin contract, never the platform.
 *
 * @example
 * import { definePlugin } from "@atoll/sdk";
 * export default definePlugin<{ greeting: string }>({
 *   routes: (router) => router.get("/hello/:name", (req, ctx) => ({ message: `${ctx.config.greeting}, ${req.params.name}!` })),
 *   execute: (input: { name: string }, ctx) => `${ctx.config.greeting}, ${input.name}!`,
 * });
 */
import { Router, type IRequest, type RouterType } from "itty-router";
import { CALL_HEADERS, LIFECYCLE, type InstallationFacts } from "../../../src/contract/protocol";

/** The installation's key-value store (granted by the `storage` permission). */
export interface StorageBinding {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean>;
  list(prefix?: string, limit?: number): Promise<string[]>;
}

/** What the platform passes to every plugin isolate. */
export interface AtollEnv {
  ATOLL: InstallationFacts;
  STORAGE?: StorageBinding;
  /** Each granted secret as its own string binding, `SECRET_<NAME>` (every backend). */
  [secret: `SECRET_${string}`]: string | undefined;
  /** Each write-only setting as its own string binding of its JSON, `CONFIG_<key>` (every backend). */
  [sealed: `CONFIG_${string}`]: string | undefined;
  /** Calls to connected providers (granted by integrations:<provider>); credentials are injected by the platform. */
  INTEGRATIONS?: IntegrationsBinding;
}

export interface IntegrationsBinding {
  request(
    provider: string,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<{ status: number; headers: Record<string, string>; body: string }>;
}

/** An event from a connected provider (a webhook), delivered to plugins granted events:<topic>. */
export interface PluginEvent {
  id: string;
  topic: string;
  payload: unknown;
}

function secretsOf(env: AtollEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (key.startsWith("SECRET_") && typeof value === "string") out[key.slice(7)] = value;
  return out;
}

/**
 * The settings: `ATOLL.config` (those that are not write-only) with each write-only setting's
 * `CONFIG_<key>` binding (its JSON) merged in, so `ctx.config` holds them all on every backend.
 */
function configOf(env: AtollEnv): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(env.ATOLL?.config ?? {}) };
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith("CONFIG_") || typeof value !== "string") continue;
    try {
      Object.defineProperty(out, key.slice(7), {
        value: JSON.parse(value) as unknown,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } catch {
      // Not JSON: the platform always writes JSON, so this binding is not one of its settings.
    }
  }
  return out;
}

/** Who is calling, from headers only the platform can set. */
export interface Caller {
  organization: string;
  subject: string;
  requestId: string;
}

export interface PluginContext<Config> {
  config: Config;
  installationId: string;
  environment: string;
  caller: Caller | null;
  /** JSON helpers over the installation's store; throws if `storage` was not granted. */
  storage: {
    get<T>(key: string): Promise<T | null>;
    put(key: string, value: unknown): Promise<void>;
    delete(key: string): Promise<boolean>;
    list(prefix?: string, limit?: number): Promise<string[]>;
  };
  /** A granted secret (`secrets:<NAME>`); throws if it was not granted. */
  secret(name: string): string;
  /** The Worker's ExecutionContext (waitUntil). */
  waitUntil(promise: Promise<unknown>): void;
  /**
   * A connected provider (`integrations:<provider>` granted), e.g. `ctx.integration("slack")
   * .fetch("/api/chat.postMessage", { method: "POST", body: JSON.stringify({ channel, text }) })`.
   * The organization's connection for this environment is used; the plugin never sees its token.
   */
  integration(provider: string): {
    fetch(
      path: string,
      init?: { method?: string; headers?: Record<string, string>; body?: string },
    ): Promise<Response>;
  };
}

export type RouteHandler<Config> = (request: IRequest, ctx: PluginContext<Config>) => unknown;

export interface PluginDefinition<Config, Input, Output> {
  initialize?(ctx: PluginContext<Config>): void | Promise<void>;
  execute?(input: Input, ctx: PluginContext<Config>): Output | Promise<Output>;
  cleanup?(ctx: PluginContext<Config>): void | Promise<void>;
  /** Declare routes on the router: `router.get("/path", (req, ctx) => …)`. Return values become JSON. */
  routes?(router: RouterType<IRequest, [PluginContext<Config>]>): void;
  /** Handlers of provider events by topic (`slack.app_mention`, `hubspot.contact.creation`, …). */
  events?: Record<string, (event: PluginEvent, ctx: PluginContext<Config>) => unknown>;
}

/** Errors a plugin throws deliberately, with the status to answer. */
export class PluginError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: body === undefined ? {} : { "content-type": "application/json" },
  });
}

function contextFor<Config>(
  request: Request,
  env: AtollEnv,
  exec: ExecutionContext,
): PluginContext<Config> {
  const h = request.headers;
  const org = h.get(CALL_HEADERS.organization);
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new PluginError(500, `${what} was not granted to this plugin`);
    return value;
  };
  return {
    config: configOf(env) as Config,
    installationId: env.ATOLL?.installationId ?? "",
    environment: env.ATOLL?.environment ?? "development",
    caller: org
      ? {
          organization: org,
          subject: h.get(CALL_HEADERS.subject) ?? "",
          requestId: h.get(CALL_HEADERS.requestId) ?? "",
        }
      : null,
    storage: {
      async get<T>(key: string) {
        const v = await need(env.STORAGE, "storage").get(key);
        return v === null ? null : (JSON.parse(v) as T);
      },
      put: (key, value) => need(env.STORAGE, "storage").put(key, JSON.stringify(value)),
      delete: (key) => need(env.STORAGE, "storage").delete(key),
      list: (prefix, limit) => need(env.STORAGE, "storage").list(prefix, limit),
    },
    secret: (name) => need(secretsOf(env)[name], `secrets:${name}`),
    waitUntil: (p) => exec.waitUntil(p),
    integration: (provider) => ({
      async fetch(path, init = {}) {
        const r = await need(env.INTEGRATIONS, `integrations:${provider}`).request(
          provider,
          path,
          init,
        );
        return new Response(r.body, { status: r.status, headers: r.headers });
      },
    }),
  };
}

/** Builds the plugin's Worker module. */
export function definePlugin<Config = Record<string, unknown>, Input = unknown, Output = unknown>(
  def: PluginDefinition<Config, Input, Output>,
): ExportedHandler<AtollEnv> {
  // itty's small Router (not AutoRouter): return values become JSON, no match is a 404.
  const router = Router<IRequest, [PluginContext<Config>]>({
    catch: (err) =>
      err instanceof PluginError
        ? json(err.status, { error: err.message })
        : json(500, { error: err instanceof Error ? err.message : "plugin error" }),
    finally: [
      (res: unknown) =>
        res instanceof Response
          ? res
          : res === undefined
            ? json(404, { error: "not found" })
            : json(200, res),
    ],
  });
  def.routes?.(router);
  return {
    async fetch(request, env, exec) {
      const url = new URL(request.url);
      const ctx = contextFor<Config>(request, env, exec);
      try {
        switch (url.pathname) {
          case LIFECYCLE.initialize:
            if (!def.initialize) return json(404, { error: "initialize not implemented" });
            await def.initialize(ctx);
            return json(204, undefined);
          case LIFECYCLE.execute: {
            if (!def.execute) return json(404, { error: "execute not implemented" });
            const body = (await request.json()) as { input: Input };
            return json(200, { output: await def.execute(body.input, ctx) });
          }
          case LIFECYCLE.event: {
            const event = (await request.json()) as PluginEvent;
            const handler = def.events?.[event.topic];
            if (!handler) return json(404, { error: `no handler for ${event.topic}` });
            await handler(event, ctx);
            return json(204, undefined);
          }
          case LIFECYCLE.cleanup:
            if (!def.cleanup) return json(404, { error: "cleanup not implemented" });
            await def.cleanup(ctx);
            return json(204, undefined);
          default:
            return await router.fetch(request, ctx);
        }
      } catch (err) {
        if (err instanceof PluginError) return json(err.status, { error: err.message });
        return json(500, { error: err instanceof Error ? err.message : "plugin error" });
      }
    },
  };
}

export type { IRequest, RouterType };
