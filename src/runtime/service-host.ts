/**
 * The `service` backend: plugin isolates run in the separate local plugin-host Worker
 * (workers/plugin-host), reached over loopback HTTP. Every request carries a sealed `invoke`
 * (host-auth.ts: encrypted, single-use, bound to the call's headers and body) naming exactly what
 * to run; the installation's sealed spec (with its secrets) goes with the first call of each
 * revision only, and is named by id afterwards. The host reports its own failures with the
 * invoke's nonce, so a plugin's response headers can never pass for a host signal.
 */
import { randomBase62 } from "../platform/crypto/encoding";
import type { PluginHost } from "./host";
import {
  GRANT_TTL_MS,
  INVOKE_TTL_MS,
  SPEC_REFRESH_MS,
  SPEC_TTL_MS,
  seal,
  sealInvoke,
} from "./host-auth";
import { PackageIntegrityError } from "./packages";
import { parseAll } from "../contract/permissions";
import { PluginHeadersTooLargeError, type PluginSpec } from "./spec";

export const HOST_AUTH_HEADER = "x-atoll-host-auth";
/** The sealed `spec` message a call runs (HOST_AUTH_HEADER carries the call's own `invoke`). */
export const HOST_SPEC_HEADER = "x-atoll-host-spec";
export const HOST_ERROR_HEADER = "x-atoll-host-error";
/** Every header the host uses to talk to the gateway starts so; plugin responses never carry one. */
export const HOST_HEADER_PREFIX = "x-atoll-host-";
export const HOST_UNREACHABLE = "the plugin host is not reachable";

/** The host did not answer (it is down or being recycled). */
export class HostUnreachableError extends Error {
  constructor(detail: string) {
    super(`${HOST_UNREACHABLE}: ${detail}`);
  }
}

/** What the host says when it could not run a call (its body, with the nonce in HOST_ERROR_HEADER). */
export interface HostFailure {
  kind: "integrity" | "headers-too-large" | "unknown-spec" | "error";
  message: string;
}

export class ServiceHost implements PluginHost {
  readonly kind = "service" as const;

  constructor(
    private readonly baseUrl: string,
    private readonly secret: string,
    private readonly deadlineMs = 10_000,
  ) {}

  async fetch(spec: PluginSpec, request: Request): Promise<Response> {
    // The gateway's deadline starts now (invokePlugin's timer): the host's budget ends with it,
    // however long the hop, or a resend of the spec, takes.
    const deadlineAt = Date.now() + this.deadlineMs;
    const url = new URL(request.url);
    const sealed = await this.sealedSpec(spec, Date.now());
    // The body is bounded (PLUGIN_BODY_LIMIT) and read whole: its digest is sealed in the invoke,
    // and a call the host answers with `unknown-spec` is sent again.
    const body =
      request.method === "GET" || request.method === "HEAD"
        ? null
        : new Uint8Array(await request.arrayBuffer());
    const headers = new Headers(request.headers);
    for (const name of [...headers.keys()])
      if (name.startsWith(HOST_HEADER_PREFIX)) headers.delete(name);
    // Loopback: no compression between gateway and host (the gateway's own response is encoded
    // for its client as usual); otherwise a gzip content-encoding would leak to clients that never
    // asked for it.
    headers.set("accept-encoding", "identity");
    // The spec travels once per host: later calls name it by id. A host that does not hold it
    // (first call, or recycled since) says `unknown-spec`, and the call goes again with it.
    const first = await this.send(
      sealed,
      !sealed.delivered,
      request,
      url,
      headers,
      body,
      deadlineAt,
    );
    const res = first.unknownSpec
      ? await this.send(sealed, true, request, url, headers, body, deadlineAt)
      : first;
    if (res.unknownSpec) throw new Error("the plugin host did not take the spec");
    sealed.delivered = true;
    return res.response;
  }

  private async send(
    sealed: SealedSpec,
    withSpec: boolean,
    request: Request,
    url: URL,
    headers: Headers,
    body: Uint8Array | null,
    deadlineAt: number,
  ): Promise<{ unknownSpec: boolean; response: Response }> {
    const { token: auth, nonce } = await sealInvoke(this.secret, {
      specId: sealed.id,
      method: request.method,
      url,
      headers,
      body,
      deadlineAt,
    });
    const wire = new Headers(headers);
    wire.set(HOST_AUTH_HEADER, auth);
    if (withSpec) wire.set(HOST_SPEC_HEADER, sealed.token);
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/__host/invoke`, {
        method: request.method,
        headers: wire,
        body,
        redirect: "manual",
      });
    } catch (err) {
      throw new HostUnreachableError(err instanceof Error ? err.message : String(err));
    }
    if (res.headers.get(HOST_ERROR_HEADER) === nonce) {
      const failure = (await res
        .json()
        .catch(() => ({ kind: "error", message: "the plugin host failed" }))) as HostFailure;
      if (failure.kind === "unknown-spec") return { unknownSpec: true, response: res };
      if (failure.kind === "integrity") throw new PackageIntegrityError(failure.message);
      if (failure.kind === "headers-too-large")
        throw new PluginHeadersTooLargeError(failure.message);
      throw new Error(String(failure.message));
    }
    const out = new Headers(res.headers);
    for (const name of [...out.keys()]) if (name.startsWith(HOST_HEADER_PREFIX)) out.delete(name);
    out.delete("content-encoding");
    return {
      unknownSpec: false,
      response: new Response(res.body, {
        status: res.status,
        statusText: res.statusText,
        headers: out,
      }),
    };
  }

  /**
   * The installation's sealed `spec` message, sealed once and reused until SPEC_REFRESH_MS before
   * it expires. Keyed by the spec object itself: the gateway builds a new one whenever the
   * installation changes (resolve.ts), so a changed installation never runs an old message.
   */
  private async sealedSpec(spec: PluginSpec, now: number): Promise<SealedSpec> {
    const hit = sealedSpecs.get(spec);
    if (hit && hit.secret === this.secret && hit.exp - now > SPEC_REFRESH_MS) return hit;
    const exp = now + SPEC_TTL_MS;
    const integrations = parseAll(spec.grants).some((p) => p.kind === "integrations");
    const grant = integrations
      ? await seal(this.secret, {
          kind: "grant",
          exp: now + GRANT_TTL_MS,
          installationId: spec.installationId,
          revision: spec.revision,
        })
      : undefined;
    const logs = await seal(this.secret, {
      kind: "logs",
      exp: now + GRANT_TTL_MS,
      installationId: spec.installationId,
    });
    const id = randomBase62(22);
    const token = await seal(this.secret, {
      kind: "spec",
      exp,
      id,
      // The host runs the call; routes (matched by the gateway already) would only weigh the header.
      spec: withoutRoutes(spec),
      logs,
      ...(grant ? { grant } : {}),
    });
    const sealed = { token, id, exp, secret: this.secret, delivered: false };
    sealedSpecs.set(spec, sealed);
    return sealed;
  }

  async clearStorage(installationId: string): Promise<void> {
    const auth = await seal(this.secret, {
      kind: "clear",
      exp: Date.now() + INVOKE_TTL_MS,
      nonce: randomBase62(22),
      installationId,
    });
    const res = await fetch(`${this.baseUrl}/__host/clear`, {
      method: "POST",
      headers: { [HOST_AUTH_HEADER]: auth },
    });
    if (res.status !== 204)
      throw new Error(`the plugin host could not clear storage: ${res.status}`);
  }
}

interface SealedSpec {
  token: string;
  id: string;
  /** The host has taken it (a call carrying it was answered): later calls name it by id only. */
  delivered: boolean;
  exp: number;
  secret: string;
}
const sealedSpecs = new WeakMap<PluginSpec, SealedSpec>();

function withoutRoutes(spec: PluginSpec): PluginSpec {
  if (!spec.routes) return spec;
  const { routes: _matched, ...rest } = spec;
  return rest;
}
