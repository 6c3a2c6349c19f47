/**
 * One error type for the whole platform, rendered as RFC 9457 `application/problem+json`.
 * A caller sees the public `title`/`detail`; `internal` goes to logs only. No stack trace
 * ever reaches a caller.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const PROBLEM_BASE = "https://atoll.dev/problems/";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface ProblemInit {
  status: ContentfulStatusCode;
  /** Short slug; the problem `type` is PROBLEM_BASE + slug. */
  type: string;
  title: string;
  detail?: string;
  /** Logged, never shown to the caller. */
  internal?: string;
  headers?: Record<string, string>;
  /** Extension members (RFC 9457 §3.2), e.g. `errors` for validation failures. Never secrets. */
  extensions?: Record<string, unknown>;
}

export class ApiError extends HTTPException {
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly internal: string | undefined;
  readonly extraHeaders: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(init: ProblemInit) {
    super(init.status, { message: init.detail ?? init.title });
    this.type = init.type;
    this.title = init.title;
    this.detail = init.detail;
    this.internal = init.internal;
    this.extraHeaders = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

/**
 * Builds the response for a problem; `requestId` ties it to the logs. Takes an ApiError or a
 * plain ProblemInit (hot paths such as the 429 answer skip creating an Error and its stack).
 */
export function problemResponse(
  problem: ApiError | ProblemInit,
  requestId: string | undefined,
  instance?: string,
): Response {
  const isError = problem instanceof ApiError;
  const extensions = isError ? problem.extensions : (problem.extensions ?? {});
  const detail = problem.detail;
  const body: ProblemDocument = {
    ...extensions,
    type: PROBLEM_BASE + problem.type,
    title: problem.title,
    status: problem.status,
    ...(detail ? { detail } : {}),
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
  };
  const headers = new Headers(isError ? problem.extraHeaders : problem.headers);
  headers.set("content-type", PROBLEM_CONTENT_TYPE);
  if (requestId) headers.set("x-request-id", requestId);
  return new Response(JSON.stringify(body), { status: problem.status, headers });
}

const GENERIC_TITLES: Partial<Record<number, [string, string]>> = {
  400: ["bad-request", "Bad request"],
  401: ["unauthorized", "Authentication required"],
  403: ["forbidden", "Forbidden"],
  404: ["not-found", "Not found"],
  405: ["method-not-allowed", "Method not allowed"],
  409: ["conflict", "Conflict"],
  413: ["payload-too-large", "Request body too large"],
  415: ["unsupported-media-type", "Unsupported media type"],
  429: ["rate-limited", "Too many requests"],
  502: ["bad-gateway", "Upstream error"],
  503: ["unavailable", "Service unavailable"],
};

/** Maps any thrown value to an ApiError: known errors keep their meaning, the rest become 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const [type, title] =
      GENERIC_TITLES[status] ??
      (status >= 500 ? ["upstream-error", "Upstream error"] : ["bad-request", "Bad request"]);
    if (status >= 500) {
      return new ApiError({ status: 502, type, title, internal: err.message });
    }
    return new ApiError({ status, type, title, detail: err.message || title });
  }
  const internal = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new ApiError({
    status: 500,
    type: "internal",
    title: "Internal error",
    detail: "Something went wrong on our side. Quote the request id when reporting it.",
    internal,
  });
}

// Small constructors for the errors that recur across domains.
export const unauthorized = (detail: string, reason?: string) =>
  new ApiError({
    status: 401,
    type: "unauthorized",
    title: "Authentication required",
    detail,
    headers: {
      "www-authenticate": 'Bearer realm="atoll"' + (reason ? `, error="invalid_token"` : ""),
    },
    ...(reason ? { extensions: { reason } } : {}),
  });
export const forbidden = (detail: string) =>
  new ApiError({ status: 403, type: "forbidden", title: "Forbidden", detail });
export const notFound = (what: string) =>
  new ApiError({
    status: 404,
    type: "not-found",
    title: "Not found",
    detail: `${what} was not found.`,
  });
export const conflict = (detail: string, type = "conflict") =>
  new ApiError({ status: 409, type, title: "Conflict", detail });
export const badRequest = (
  detail: string,
  type = "bad-request",
  extensions?: Record<string, unknown>,
) =>
  new ApiError({
    status: 400,
    type,
    title: "Bad request",
    detail,
    ...(extensions ? { extensions } : {}),
  });
