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

export class CloudflareApiError extends Error {}

interface Envelope {
  success: boolean;
  errors?: { code: number; message: string }[];
}

export class ScriptsApi {
  constructor(
    private readonly base: string,
    private readonly accountId: string,
    private readonly namespace: string,
    private readonly token: string,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  private url(name: string): string {
    return `${this.base.replace(/\/$/, "")}/accounts/${encodeURIComponent(this.accountId)}/workers/dispatch/namespaces/${encodeURIComponent(this.namespace)}/scripts/${encodeURIComponent(name)}`;
  }

  async upload(name: string, script: ScriptUpload): Promise<void> {
    const form = new FormData();
    const metadata = {
      main_module: script.mainModule,
      compatibility_date: script.compatibilityDate,
      bindings: script.bindings,
      tags: script.tags,
      ...(script.tailConsumers ? { tail_consumers: script.tailConsumers } : {}),
    };
    form.append("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }));
    for (const [path, source] of Object.entries(script.modules)) {
      form.append(path, new File([source], path, { type: "application/javascript+module" }));
    }
    await this.call("PUT", name, form);
  }

  async delete(name: string): Promise<void> {
    await this.call("DELETE", name);
  }

  private async call(method: string, name: string, body?: FormData): Promise<void> {
    let res: Response;
    try {
      res = await this.fetchFn(this.url(name), {
        method,
        headers: { authorization: `Bearer ${this.token}` },
        ...(body ? { body } : {}),
      });
    } catch (err) {
      throw new CloudflareApiError(
        `the Cloudflare API is not reachable: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    let envelope: Envelope | null = null;
    try {
      envelope = (await res.json()) as Envelope;
    } catch {
      envelope = null;
    }
    if (!res.ok || !envelope?.success) {
      const why =
        envelope?.errors?.map((e) => `${e.code}: ${e.message}`).join("; ") || `HTTP ${res.status}`;
      throw new CloudflareApiError(`the Cloudflare API refused ${method} ${name}: ${why}`);
    }
  }
}
