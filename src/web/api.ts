/** The UI is a client of the platform API: pages call it in-process with the session's key. */
import type { Context } from "hono";
import type { AppEnv } from "../platform/http/router";

export type AppFetch = (
  req: Request,
  env: Env,
  ctx: Context<AppEnv>["executionCtx"],
) => Response | Promise<Response>;

export interface ApiResult<T> {
  status: number;
  data: T;
}

export async function callApi<T>(
  c: Context<AppEnv>,
  appFetch: AppFetch,
  path: string,
  init: {
    method?: string;
    key?: string | null;
    json?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<ApiResult<T>> {
  const headers = new Headers(init.headers);
  headers.set("accept", "application/json");
  if (init.key) headers.set("x-api-key", init.key);
  let body: string | undefined;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  // The client's address carries over, so anonymous rate limits stay per visitor.
  const ip = c.req.header("cf-connecting-ip");
  if (ip) headers.set("cf-connecting-ip", ip);
  const res = await appFetch(
    new Request(new URL(path, c.req.url), {
      method: init.method ?? "GET",
      headers,
      ...(body !== undefined ? { body } : {}),
    }),
    c.env,
    c.executionCtx,
  );
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  return { status: res.status, data: data as T };
}

/** The problem's detail (or title) of a failed API answer, for showing next to a form. */
export function problemText(r: ApiResult<unknown>): string {
  const p = r.data as {
    detail?: string;
    title?: string;
    errors?: { path: string; message: string }[];
  } | null;
  return p?.detail ?? p?.title ?? `The request failed (${r.status}).`;
}
