/**
 * The slice of Cloudflare's API that the dispatch backend needs: upload and delete a user Worker
 * in a Workers for Platforms dispatch namespace (multipart script upload: a `metadata` part with
 * main_module, compatibility_date, bindings and tags, then one part per module).
 *
 *   PUT    /accounts/{account}/workers/dispatch/namespaces/{namespace}/scripts/{name}
 *   DELETE /accounts/{account}/workers/dispatch/namespaces/{namespace}/scripts/{name}
 *
 * Responses use Cloudflare's envelope `{ success, errors: [{ code, message }], result }`.
 * Exercised here against a local stand-in of that API (scripts/standins/cloudflare-api.mjs).
 */
import { HostApiError } from "./host";

export type ScriptBinding =
  | { type: "plain_text" | "secret_text"; name: string; text: string }
  | { type: "json"; name: string; json: unknown }
  | {
      type: "service";
      name: string;
      service: string;
      entrypoint?: string;
      props?: Record<string, unknown>;
    };

export interface ScriptUpload {
  mainModule: string;
  modules: Record<string, string>;
  compatibilityDate: string;
  bindings: ScriptBinding[];
  tags: string[];
  /** Workers that receive this script's traces (its console output and exceptions). */
  tailConsumers?: { service: string }[];
}

/** The API refused or could not be reached, after the retries it allows. */
export class CloudflareApiError extends HostApiError {}

interface Envelope {
  success?: boolean;
  errors?: { code: number; message: string }[];
}

/** How hard the client tries: bounded, so an install never waits long on a struggling API. */
export interface RetryPolicy {
  /** Attempts after the first, for 429, 5xx and unreachable. */
  retries: number;
  /** The first backoff for 5xx and unreachable; doubled each time, with jitter. */
  baseDelayMs: number;
  /** The longest wait between attempts: a Retry-After above it is not waited for. */
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** Cloudflare answers this code when a script is not there (a delete of it is then done). */
const NOT_FOUND_CODE = 10007;

/**
 * The wait a Retry-After header asks for, in ms (delta-seconds or an HTTP date), or null when
 * absent or unreadable.
 */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its weekday and month ("Wed, 02 Dec 2026 18:00:10 GMT").
  const at = /^[A-Za-z]{3}, /.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export class ScriptsApi {
  private readonly retry: RetryPolicy;

  constructor(
    private readonly base: string,
    private readonly accountId: string,
    private readonly namespace: string,
    private readonly token: string,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
    retry: Partial<RetryPolicy> = {},
  ) {
    this.retry = { ...DEFAULT_RETRY, ...retry };
  }

  private url(name: string): string {
    return `${this.base.replace(/\/$/, "")}/accounts/${encodeURIComponent(this.accountId)}/workers/dispatch/namespaces/${encodeURIComponent(this.namespace)}/scripts/${encodeURIComponent(name)}`;
  }

  /** Uploads (creates or replaces) a script: idempotent, so it is retried as a whole. */
  async upload(name: string, script: ScriptUpload): Promise<void> {
    const metadata = {
      main_module: script.mainModule,
      compatibility_date: script.compatibilityDate,
      bindings: script.bindings,
      tags: script.tags,
      ...(script.tailConsumers ? { tail_consumers: script.tailConsumers } : {}),
    };
    // A fresh body for each attempt (a FormData body is read once).
    const form = () => {
      const f = new FormData();
      f.append("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }));
      for (const [path, source] of Object.entries(script.modules))
        f.append(path, new File([source], path, { type: "application/javascript+module" }));
      return f;
    };
    await this.call("PUT", name, form);
  }

  /** Deletes a script; one that is not there counts as deleted (a retried delete, a rollback). */
  async delete(name: string): Promise<void> {
    await this.call("DELETE", name);
  }

  private async call(method: "PUT" | "DELETE", name: string, body?: () => FormData): Promise<void> {
    const { retries, baseDelayMs, maxDelayMs, sleep } = this.retry;
    for (let attempt = 0; ; attempt++) {
      const last = attempt === retries;
      let res: Response;
      try {
        res = await this.fetchFn(this.url(name), {
          method,
          headers: { authorization: `Bearer ${this.token}` },
          ...(body ? { body: body() } : {}),
        });
      } catch (err) {
        if (last)
          throw new CloudflareApiError(
            `the Cloudflare API is not reachable (${attempt + 1} attempts): ${err instanceof Error ? err.message : String(err)}`,
          );
        await sleep(backoff(baseDelayMs, maxDelayMs, attempt));
        continue;
      }
      // DELETE answers with an empty body; any body is read so the connection is released.
      const text = await res.text().catch(() => "");
      let envelope: Envelope | null = null;
      try {
        envelope = text ? (JSON.parse(text) as Envelope) : null;
      } catch {
        envelope = null;
      }
      if (res.ok && envelope?.success !== false) return;
      if (
        method === "DELETE" &&
        res.status === 404 &&
        envelope?.errors?.some((e) => e.code === NOT_FOUND_CODE)
      )
        return;
      const why =
        envelope?.errors?.map((e) => `${e.code}: ${e.message}`).join("; ") || `HTTP ${res.status}`;
      const retriable = res.status === 429 || res.status >= 500;
      if (retriable && !last) {
        const asked = res.status === 429 ? retryAfterMs(res.headers.get("retry-after")) : null;
        if (asked === null || asked <= maxDelayMs) {
          await sleep(asked ?? backoff(baseDelayMs, maxDelayMs, attempt));
          continue;
        }
        // Cloudflare's global limit blocks for minutes: waiting here would hold the caller.
        throw new CloudflareApiError(
          `the Cloudflare API is rate limited for ${Math.ceil(asked / 1000)} s (${method} ${name}): ${why}`,
          Math.ceil(asked / 1000),
        );
      }
      throw new CloudflareApiError(
        `the Cloudflare API refused ${method} ${name}${retriable ? ` after ${attempt + 1} attempts` : ""}: ${why}`,
        res.status === 429
          ? Math.ceil((retryAfterMs(res.headers.get("retry-after")) ?? 0) / 1000) || undefined
          : undefined,
      );
    }
  }
}

/** Exponential backoff with full jitter in its upper half: base·2^attempt, at most `max`. */
function backoff(base: number, max: number, attempt: number): number {
  const ceiling = Math.min(max, base * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
