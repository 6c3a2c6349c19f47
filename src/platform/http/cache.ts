/**
 * Cache-Control for API answers. The API key travels in `X-API-Key`, which — unlike
 * `Authorization` — does not keep a shared cache from storing the answer, so every answer to a
 * request that carries a credential is `private, no-store`, whatever the route set. Without a
 * credential, a route's explicit `public, …` (marketplace listings, categories, packages of free
 * plugins, the JWKS, the OpenAPI document) stands, with `Vary` on the credential headers; any other
 * answer is `no-store` (sign-up returns a key).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./router";

export const PRIVATE = "private, no-store";

/** `defaultNoStore`: anonymous answers without an explicit public policy become `no-store`. */
export function cacheControl({
  defaultNoStore,
}: {
  defaultNoStore: boolean;
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const credentialed =
      c.get("principal") != null ||
      c.req.header("x-api-key") !== undefined ||
      c.req.header("authorization") !== undefined;
    const headers = c.res.headers;
    if (credentialed) {
      headers.set("cache-control", PRIVATE);
      return;
    }
    const set = headers.get("cache-control");
    if (set && /^\s*public\b/i.test(set)) headers.append("vary", "Authorization, X-API-Key");
    else if (defaultNoStore && !set) headers.set("cache-control", "no-store");
  };
}
