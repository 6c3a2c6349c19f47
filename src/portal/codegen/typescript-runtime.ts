/**
 * The hand-written runtime of the TypeScript SDK, as JavaScript (ES2022, runs on Node 20 as is)
 * and its `.d.ts` declarations. No document text reaches these strings except through escapers.
 */

export const RUNTIME_JS = `const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "OPTIONS"]);
const RETRY_STATUS = (s) => s === 408 || s === 429 || s >= 500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Base of every error the SDK throws: the HTTP status (0 without an answer) and the problem document. */
export class AtollError extends Error {
  constructor(message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.status = details.status ?? 0;
    this.problem = details.problem ?? { type: "about:blank", title: message, status: this.status };
    this.body = details.body ?? "";
    this.headers = details.headers ?? {};
  }
  /** The problem type's slug: "rate-limited", "validation-failed", … */
  get type() {
    const t = String(this.problem.type ?? "");
    return t.split("/").pop() ?? t;
  }
}
/** 400 or 422: the request was refused as invalid. */
export class BadRequestError extends AtollError {}
/** 401 or 403: missing, invalid or insufficient credentials. */
export class AuthError extends AtollError {}
export class NotFoundError extends AtollError {}
export class ConflictError extends AtollError {}
export class RateLimitError extends AtollError {
  /** Seconds the server asked to wait, when it said. */
  get retryAfter() {
    const ms = retryAfterMs(this.headers["retry-after"] ?? null);
    return ms === null ? null : ms / 1000;
  }
}
export class ServerError extends AtollError {}
/** No answer: the connection failed. */
export class AtollConnectionError extends AtollError {}
/** No answer within the timeout. */
export class AtollTimeoutError extends AtollError {}

/** Retry-After as milliseconds: delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value, now = Date.now()) {
  if (!value) return null;
  const v = String(value).trim();
  if (/^\\d+(\\.\\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function classFor(status) {
  if (status === 400 || status === 422) return BadRequestError;
  if (status === 401 || status === 403) return AuthError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return ServerError;
  return AtollError;
}

/** The error for an answer: its problem document when the body is one, its raw text otherwise. */
export function errorFor(status, text, headers = {}, statusText = "") {
  let problem = null;
  try {
    const parsed = text ? JSON.parse(text) : null;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) problem = parsed;
  } catch {
    problem = null;
  }
  problem ??= { type: "about:blank", title: statusText || "HTTP " + status, status, ...(text ? { detail: text.slice(0, 2000) } : {}) };
  const message = String(problem.detail ?? problem.title ?? "HTTP " + status);
  const Cls = classFor(status);
  return new Cls(message, { status, problem, body: text, headers });
}

function segment(value) {
  const s = encodeURIComponent(String(value)).replace(/%40/g, "@");
  // "." and ".." would be dot segments that climb out of the path (URL parsers resolve them,
  // %2E-encoded too): refused before anything is sent.
  if (s === "." || s === "..") throw new BadRequestError("A path parameter may not be . or ..");
  return s;
}

function rest(value) {
  // The rest of a path (a plugin route's *): slashes kept, each segment encoded, never . or ..
  return String(value).split("/").map((part) => (part === "" ? "" : segment(part))).join("/");
}

function headerValue(headers, name) {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower && v !== undefined && v !== null) return String(v);
  return undefined;
}

export class AtollClient {
  #token = null;
  constructor(options = {}) {
    this.options = options;
    this.baseUrl = String(options.baseUrl ?? DEFAULT_BASE_URL).replace(/\\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 30000;
    this.maxRetries = options.maxRetries ?? 2;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60000;
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The credential headers: an API key, or an access token from the client-credentials flow. */
  async authorization() {
    const o = this.options;
    if (o.apiKey) return { "x-api-key": o.apiKey };
    if (o.accessToken) return { authorization: "Bearer " + o.accessToken };
    if (!(o.clientId && o.clientSecret)) return {};
    if (!this.#token || this.#token.expiresAt - 30000 < Date.now()) {
      const token = await this.request({
        method: "POST",
        path: TOKEN_PATH,
        body: { grant_type: "client_credentials", client_id: o.clientId, client_secret: o.clientSecret },
        bodyKind: "form",
        contentType: "application/x-www-form-urlencoded",
        responseKind: "json",
        auth: false,
      });
      if (!token || typeof token.access_token !== "string") throw new AuthError("The token endpoint answered no access_token", { status: 401 });
      this.#token = { value: token.access_token, expiresAt: Date.now() + (Number(token.expires_in) || 300) * 1000 };
    }
    return { authorization: "Bearer " + this.#token.value };
  }

  /**
   * Sends one operation. Retries network errors, 408, 429 and 5xx (maxRetries, backoff, Retry-After)
   * when the method is idempotent or the request carries an Idempotency-Key; creates that key
   * (a random UUID, the same for every retry) when the operation takes one and none was passed
   * (so a money-moving POST is both accepted and safe to retry).
   */
  async request(o) {
    const url = new URL(this.baseUrl + o.path);
    for (const [k, v] of Object.entries(o.query ?? {})) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, String(item));
      else url.searchParams.set(k, String(v));
    }
    const extra = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined && v !== null) extra[k.toLowerCase()] = String(v);
    if (o.idempotency && headerValue(extra, "idempotency-key") === undefined) extra["idempotency-key"] = crypto.randomUUID();
    const retryable = IDEMPOTENT.has(o.method) || headerValue(extra, "idempotency-key") !== undefined;
    let body;
    if (o.body !== undefined && o.body !== null) {
      extra["content-type"] = o.contentType ?? "application/json";
      if (o.bodyKind === "form") body = new URLSearchParams(Object.entries(o.body).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, String(v)]));
      else if (o.bodyKind === "binary") body = o.body instanceof ArrayBuffer ? new Uint8Array(o.body) : o.body;
      else body = JSON.stringify(o.body);
    }
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const headers = { accept: o.responseKind === "binary" ? "*/*" : "application/json", ...(o.auth ? await this.authorization() : {}), ...extra };
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; controller.abort(); }, timeoutMs);
      const onAbort = () => controller.abort();
      o.signal?.addEventListener("abort", onAbort, { once: true });
      const backoff = () => Math.min(8000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
      try {
        let res;
        try {
          // Redirects are not followed: a 3xx would carry the credential to wherever it points.
          res = await this.fetcher(url, { method: o.method, headers, body, signal: controller.signal, redirect: "manual" });
        } catch (err) {
          if (o.signal?.aborted) throw err;
          const Cls = timedOut ? AtollTimeoutError : AtollConnectionError;
          const error = new Cls(timedOut ? "No answer within " + timeoutMs + " ms" : "Connection failed: " + String(err?.message ?? err), { cause: err });
          if (retryable && attempt < this.maxRetries) { await sleep(backoff()); continue; }
          throw error;
        }
        const answerHeaders = Object.fromEntries(res.headers.entries());
        const after = retryAfterMs(res.headers.get("retry-after"));
        // A wait longer than maxRetryDelayMs is the caller's decision: the error is thrown at once.
        if (RETRY_STATUS(res.status) && retryable && attempt < this.maxRetries && (after === null || after <= this.maxRetryDelayMs)) {
          await res.body?.cancel().catch(() => undefined);
          await sleep(after ?? backoff());
          continue;
        }
        if (!res.ok) throw errorFor(res.status, await res.text().catch(() => ""), answerHeaders, res.statusText);
        if (o.responseKind === "binary") return new Uint8Array(await res.arrayBuffer());
        const text = await res.text();
        if (!text || o.responseKind === "none") return undefined;
        try {
          return JSON.parse(text);
        } catch (err) {
          throw new AtollError("The answer is not JSON", { status: res.status, body: text, headers: answerHeaders, cause: err });
        }
      } catch (err) {
        if (timedOut && !(err instanceof AtollError)) throw new AtollTimeoutError("No answer within " + timeoutMs + " ms", { cause: err });
        throw err;
      } finally {
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
      }
    }
  }
}
`;

export const RUNTIME_DTS = `export interface AtollOptions {
  /** The platform's base URL (default: the one this SDK was generated for). */
  baseUrl?: string;
  /** An API key (atk_…), sent as X-API-Key. */
  apiKey?: string;
  /** An access token, sent as Authorization: Bearer. */
  accessToken?: string;
  /** OAuth 2.0 client credentials (the API key's id and the key): tokens are fetched and renewed. */
  clientId?: string;
  clientSecret?: string;
  /** Per-attempt timeout in milliseconds (default 30000). */
  timeoutMs?: number;
  /** Retries of network errors, 408, 429 and 5xx (default 2), honouring Retry-After. */
  maxRetries?: number;
  /** The longest Retry-After the SDK waits out (default 60000 ms); a longer one is thrown as the error. */
  maxRetryDelayMs?: number;
  fetch?: typeof fetch;
}

/** An RFC 9457 problem document. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export declare class AtollError extends Error {
  constructor(message: string, details?: { status?: number; problem?: Problem; body?: string; headers?: Record<string, string>; cause?: unknown });
  /** The HTTP status; 0 when there was no answer. */
  readonly status: number;
  readonly problem: Problem;
  /** The raw answer body (for a body that is not a problem document). */
  readonly body: string;
  readonly headers: Record<string, string>;
  /** The problem type's slug: "rate-limited", "validation-failed", … */
  get type(): string;
}
export declare class BadRequestError extends AtollError {}
export declare class AuthError extends AtollError {}
export declare class NotFoundError extends AtollError {}
export declare class ConflictError extends AtollError {}
export declare class RateLimitError extends AtollError {
  get retryAfter(): number | null;
}
export declare class ServerError extends AtollError {}
export declare class AtollConnectionError extends AtollError {}
export declare class AtollTimeoutError extends AtollError {}
export declare function retryAfterMs(value: string | null | undefined, now?: number): number | null;
export declare function errorFor(status: number, text: string, headers?: Record<string, string>, statusText?: string): AtollError;

/** Bytes the SDK sends. */
export type BinaryBody = Uint8Array | ArrayBuffer | Blob;

export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export declare class AtollClient {
  constructor(options?: AtollOptions);
  readonly options: AtollOptions;
  readonly baseUrl: string;
  authorization(): Promise<Record<string, string>>;
  request(o: {
    method: string;
    path: string;
    query?: Record<string, unknown>;
    headers?: Record<string, string | undefined>;
    body?: unknown;
    bodyKind?: "json" | "form" | "binary";
    contentType?: string;
    responseKind?: "json" | "binary" | "none";
    auth?: boolean;
    idempotency?: "required" | "optional" | null;
    signal?: AbortSignal;
    timeoutMs?: number;
  }): Promise<unknown>;
}
`;
