/** Cross-cutting middleware: request id, structured access log, content-type guard, errors. */
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";
import type { AppEnv } from "./router";
import { randomBase62 } from "../crypto/encoding";
import { bodyLimit } from "hono/body-limit";
import { ApiError, problemResponse, toApiError } from "./problem";
import { JSON_BODY_LIMIT } from "./schemas";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Propagates a well-formed `X-Request-Id` or makes one; echoes it on the response. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : `req_${randomBase62(20)}`;
    c.set("requestId", id);
    await next();
    c.res.headers.set("x-request-id", id);
  };
}

/** One JSON line per request. Only the path is logged (never the query string, headers or body). */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.env.ATOLL_REQUEST_LOG === "off") return next();
    const start = Date.now();
    await next();
    const principal = c.get("principal");
    console.log(
      JSON.stringify({
        level: "info",
        msg: "request",
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Date.now() - start,
        ...(principal ? { subject: principal.subject, org: principal.orgId } : {}),
      }),
    );
  };
}

/** Refuses a request body that is not JSON with 415 (before any parsing). */
export function requireJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
      throw new ApiError({
        status: 415,
        type: "unsupported-media-type",
        title: "Unsupported media type",
        detail: `This endpoint takes application/json; got ${type ? JSON.stringify(type) : "no Content-Type"}.`,
        headers: { accept: "application/json" },
      });
    }
    return next();
  };
}

/** Renders every error as a problem document; logs the internal detail, never the secret. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  const error = toApiError(err);
  const requestId = c.get("requestId");
  if (error.status >= 500) {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "request failed",
        requestId,
        path: c.req.path,
        status: error.status,
        error: error.internal ?? error.title,
      }),
    );
  }
  return problemResponse(error, requestId, c.req.path);
};

type RouteInfo = { method: string; re: RegExp };

/**
 * Unknown paths get 404; known paths with the wrong method get 405 with `Allow` (Hono alone
 * answers 404 for both).
 */
export function notFoundHandler(
  routes: () => readonly { method: string; path: string }[],
): NotFoundHandler<AppEnv> {
  let compiled: RouteInfo[] | null = null;
  return (c: Context<AppEnv>) => {
    compiled ??= routes()
      .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
      .map((r) => ({
        method: r.method,
        re: new RegExp(
          "^" +
            r.path
              .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
              .replace(/:[A-Za-z0-9_]+(\{[^}]*\})?/g, "[^/]+") +
            "/?$",
        ),
      }));
    const allowed = [
      ...new Set(compiled.filter((r) => r.re.test(c.req.path)).map((r) => r.method)),
    ];
    const requestId = c.get("requestId");
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      allowed.push("OPTIONS");
      return problemResponse(
        new ApiError({
          status: 405,
          type: "method-not-allowed",
          title: "Method not allowed",
          detail: `${c.req.method} is not allowed here; use ${allowed.join(", ")}.`,
          headers: { allow: allowed.join(", ") },
        }),
        requestId,
        c.req.path,
      );
    }
    return problemResponse(
      new ApiError({
        status: 404,
        type: "not-found",
        title: "Not found",
        detail: `No route matches ${c.req.method} ${c.req.path}.`,
      }),
      requestId,
      c.req.path,
    );
  };
}

/**
 * Middleware for routes that take a JSON body: size limit (before parsing), then content type.
 * A route whose schema allows more than the default limit takes its own (`jsonBodyOf`).
 */
export const jsonBodyOf = (maxSize: number) =>
  [
    bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError({
          status: 413,
          type: "payload-too-large",
          title: "Request body too large",
          detail: `The body exceeds ${maxSize} bytes.`,
        });
      },
    }),
    requireJsonBody(),
  ] as const;

export const jsonBody = jsonBodyOf(JSON_BODY_LIMIT);
