/**
 * The `service` backend: plugin isolates run in the separate local plugin-host Worker
 * (src/plugin-host), reached over loopback HTTP with a shared secret. The spec (including the
 * installation's secrets) travels only over 127.0.0.1.
 */
import { toBase64Url, utf8 } from "../crypto/encoding";
import type { PluginHost } from "./host";
import type { PluginSpec } from "./spec";

export const HOST_SECRET_HEADER = "x-atoll-host-secret";
export const HOST_SPEC_HEADER = "x-atoll-host-spec";
export const HOST_ERROR_HEADER = "x-atoll-host-error";
export const HOST_UNREACHABLE = "the plugin host is not reachable";

export class ServiceHost implements PluginHost {
  readonly kind = "service" as const;

  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
  ) {}

  async fetch(spec: PluginSpec, request: Request): Promise<Response> {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.set(HOST_SECRET_HEADER, this.secret);
    headers.set(HOST_SPEC_HEADER, toBase64Url(utf8(JSON.stringify(spec))));
    // Loopback: no compression between gateway and host (the gateway's own response is encoded
    // for its client as usual); otherwise a gzip content-encoding would leak to clients that never
    // asked for it.
    headers.set("accept-encoding", "identity");
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/__host/invoke${url.pathname}${url.search}`, { method: request.method, headers, body: request.body, redirect: "manual" });
    } catch (err) {
      throw new Error(`${HOST_UNREACHABLE}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.headers.get(HOST_ERROR_HEADER)) throw new Error(await res.text());
    const out = new Headers(res.headers);
    out.delete("content-encoding");
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
  }

  async clearStorage(installationId: string): Promise<void> {
    const res = await fetch(`${this.baseUrl}/__host/clear/${installationId}`, { method: "POST", headers: { [HOST_SECRET_HEADER]: this.secret } });
    if (res.status !== 204) throw new Error(`the plugin host could not clear storage: ${res.status}`);
  }
}
