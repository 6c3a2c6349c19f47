/**
 * Calling a provider: a timeout per attempt, retries with exponential backoff and full jitter on
 * network errors, timeouts, 5xx and 429 — honouring `Retry-After` (seconds or an HTTP date) —
 * a cap on the response size, and zod validation of the body. Failures come back as a tagged
 * Result, never as a provider's raw text with a credential in it (known secrets are redacted).
 */
import type { z } from "zod";
import { checkEgressUrl, type EgressOptions, type EgressVerdict } from "./egress-policy";

export type ProviderFailure =
  | { ok: false; reason: "auth"; status: number; message: string }
  | { ok: false; reason: "rate_limited"; status: number; message: string; retryAfterMs: number }
  | { ok: false; reason: "unavailable"; status: number; message: string }
  | { ok: false; reason: "invalid"; status: number; message: string }
  | { ok: false; reason: "malformed"; status: number; message: string }
  /** The URL (or a redirect's Location) is outside the integrations egress policy: never fetched. */
  | { ok: false; reason: "egress"; status: number; message: string };

export type ProviderResult<T> =
  { ok: true; status: number; data: T; headers: Headers } | ProviderFailure;

export interface ProviderRequest<T> {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Validates the JSON body of a 2xx answer. */
  schema: z.ZodType<T>;
  /** Extracts the provider's error message from an error body (per provider). */
  errorMessage?: (body: unknown) => string | undefined;
  timeoutMs?: number;
  /** Attempts after the first. */
  retries?: number;
  maxBytes?: number;
  /** Values that must never appear in an error message (tokens, secrets). */
  secrets?: string[];
  /** The egress policy's options: the URL and every redirect are checked before they are fetched. */
  egress: EgressOptions;
}

export interface Transport {
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const defaultTransport: Transport = {
  fetch: (input, init) => fetch(input, init),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  random: Math.random,
};

export const DEFAULTS = {
  timeoutMs: 10_000,
  retries: 3,
  maxBytes: 2 * 1024 * 1024,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRedirects: 3,
} as const;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Where a refused URL pointed, without its credentials, path or query (they may hold secrets). */
function where(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "a malformed URL";
  }
}

export function egressRefused(
  raw: string,
  verdict: Extract<EgressVerdict, { ok: false }>,
  what = "the URL",
): ProviderFailure {
  return {
    ok: false,
    reason: "egress",
    status: 0,
    message: `${what} (${where(raw)}) is refused by the integrations egress policy: it ${verdict.message}`,
  };
}

/**
 * One fetch, following up to `maxRedirects` redirects itself: each Location is checked by the
 * egress policy before it is fetched, credentials headers are dropped when the origin changes, and
 * 303 (and 301/302 after a POST) continue as a body-less GET, as browsers do.
 */
async function fetchChecked(
  t: Transport,
  req: ProviderRequest<unknown>,
  signal: AbortSignal,
): Promise<Response | ProviderFailure> {
  let url = req.url;
  let method = req.method ?? "GET";
  let body = req.body;
  let headers: Record<string, string> = { ...(req.headers ?? {}) };
  for (let hop = 0; ; hop++) {
    const verdict = checkEgressUrl(url, req.egress);
    if (!verdict.ok)
      return egressRefused(url, verdict, hop === 0 ? "the URL" : "the redirect target");
    const res = await t.fetch(verdict.url.href, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal,
      redirect: "manual",
    });
    if (!REDIRECTS.has(res.status)) return res;
    await res.body?.cancel();
    const location = res.headers.get("location");
    if (!location || hop >= DEFAULTS.maxRedirects)
      return {
        ok: false,
        reason: "invalid",
        status: res.status,
        message: location
          ? `more than ${DEFAULTS.maxRedirects} redirects`
          : `HTTP ${res.status} without a Location`,
      };
    let next: URL;
    try {
      next = new URL(location, verdict.url);
    } catch {
      return {
        ok: false,
        reason: "invalid",
        status: res.status,
        message: "a redirect to a malformed URL",
      };
    }
    if (next.origin !== verdict.url.origin)
      headers = Object.fromEntries(
        Object.entries(headers).filter(
          ([k]) => !/^(authorization|cookie|proxy-authorization)$/i.test(k),
        ),
      );
    if (
      res.status === 303 ||
      ((res.status === 301 || res.status === 302) && method !== "GET" && method !== "HEAD")
    ) {
      method = "GET";
      body = undefined;
      headers = Object.fromEntries(
        Object.entries(headers).filter(([k]) => !/^content-type$/i.test(k)),
      );
    }
    url = next.href;
  }
}

/** Milliseconds a `Retry-After` header asks for, or null. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Full-jitter exponential backoff: a random delay in [0, min(max, base × 2^attempt)]. */
export function backoffMs(
  attempt: number,
  random: () => number,
  base: number = DEFAULTS.baseDelayMs,
  max: number = DEFAULTS.maxDelayMs,
): number {
  return Math.floor(random() * Math.min(max, base * 2 ** attempt));
}

export function redact(text: string, secrets: string[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join("[redacted]");
  return out.slice(0, 300);
}

async function readCapped(res: Response, maxBytes: number): Promise<string | null> {
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) return null;
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

export async function providerRequest<T>(
  req: ProviderRequest<T>,
  t: Transport = defaultTransport,
): Promise<ProviderResult<T>> {
  const retries = req.retries ?? DEFAULTS.retries;
  const maxBytes = req.maxBytes ?? DEFAULTS.maxBytes;
  let last: ProviderFailure = {
    ok: false,
    reason: "unavailable",
    status: 0,
    message: "no attempt made",
  };
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      const wait =
        last.reason === "rate_limited" ? last.retryAfterMs : backoffMs(attempt - 1, t.random);
      await t.sleep(wait);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), req.timeoutMs ?? DEFAULTS.timeoutMs);
    let res: Response;
    let text: string | null;
    try {
      const fetched = await fetchChecked(t, req as ProviderRequest<unknown>, controller.signal);
      if (!(fetched instanceof Response)) return fetched;
      res = fetched;
      text = await readCapped(res, maxBytes);
    } catch (err) {
      const timedOut = controller.signal.aborted;
      last = {
        ok: false,
        reason: "unavailable",
        status: 0,
        message: timedOut
          ? `no answer within ${req.timeoutMs ?? DEFAULTS.timeoutMs} ms`
          : redact(err instanceof Error ? err.message : String(err), req.secrets),
      };
      continue;
    } finally {
      clearTimeout(timer);
    }
    if (text === null)
      return {
        ok: false,
        reason: "malformed",
        status: res.status,
        message: `the answer is larger than ${maxBytes} bytes`,
      };
    let body: unknown = undefined;
    let parsedOk = true;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        parsedOk = false;
      }
    }
    const message = () =>
      redact(
        (parsedOk ? req.errorMessage?.(body) : undefined) ?? `HTTP ${res.status}`,
        req.secrets,
      );
    if (res.status === 429 || res.status === 503) {
      const after = retryAfterMs(res.headers.get("retry-after"));
      // A wait longer than our cap is the caller's to schedule (a queue retry), not ours to sleep.
      if (after !== null && after > DEFAULTS.maxDelayMs)
        return {
          ok: false,
          reason: "rate_limited",
          status: res.status,
          message: message(),
          retryAfterMs: after,
        };
      last =
        after !== null
          ? {
              ok: false,
              reason: "rate_limited",
              status: res.status,
              message: message(),
              retryAfterMs: after,
            }
          : { ok: false, reason: "unavailable", status: res.status, message: message() };
      continue;
    }
    if (res.status >= 500) {
      last = { ok: false, reason: "unavailable", status: res.status, message: message() };
      continue;
    }
    if (res.status === 401 || res.status === 403)
      return { ok: false, reason: "auth", status: res.status, message: message() };
    if (res.status >= 400)
      return { ok: false, reason: "invalid", status: res.status, message: message() };
    if (!parsedOk)
      return {
        ok: false,
        reason: "malformed",
        status: res.status,
        message: "the answer is not JSON",
      };
    const parsed = req.schema.safeParse(body ?? {});
    if (!parsed.success)
      return {
        ok: false,
        reason: "malformed",
        status: res.status,
        message: `unexpected answer: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join(".")} ${i.message}`)
          .join("; ")}`,
      };
    return { ok: true, status: res.status, data: parsed.data, headers: res.headers };
  }
  return last;
}
