/**
 * The local plugin host Worker (see wrangler.toml beside this file). It answers only the gateway:
 *
 *   POST /__host/invoke   run one plugin call (a sealed `invoke` message in x-atoll-host-auth,
 *                         naming a sealed `spec` message by id: one the host holds, or the one
 *                         sent in x-atoll-host-spec; 409 with the nonce asks for it)
 *   POST /__host/clear    delete one installation's storage (a sealed `clear` message)
 *   GET  /__host/health   liveness, for the supervisor
 *
 * Messages are sealed by the gateway with the host secret (random per start, see host-auth.ts):
 * what runs — spec, method, path, query — comes from the sealed message only, never from the
 * request line; the plugin gets only the headers the invoke names, and the headers and body must
 * match its digest. Each invoke runs once. The plugin's URL is built from fields on the fixed
 * plugin origin. Headers starting
 * x-atoll-host- are stripped from plugin responses; the host's own failures carry the message's
 * nonce, which plugin code never sees.
 */
import { hostExports, LoaderHost } from "../../../src/runtime/loader-host";
import { NonceLedger, open, openCall, type SpecCache } from "../../../src/runtime/host-auth";
import { PackageIntegrityError } from "../../../src/runtime/packages";
import { pluginUrl } from "../../../src/runtime/plugin-path";
import {
  HOST_AUTH_HEADER,
  HOST_ERROR_HEADER,
  HOST_HEADER_PREFIX,
  HOST_SPEC_HEADER,
  type HostFailure,
} from "../../../src/runtime/service-host";
import { MAX_PLUGIN_HEADER_BYTES, PLUGIN_ORIGIN, headerBytes } from "../../../src/runtime/spec";
import type { HostEnv } from "./env";
import { rememberGrant } from "./integration-bridge";
import { rememberLogsToken } from "./log-bridge";

export { Egress } from "../../../src/runtime/egress";
export { InstallationStore, PluginStorage } from "../../../src/runtime/storage";
export { HostIntegrationGate as IntegrationGate } from "./integration-bridge";
export { HostLogTail as LogTail } from "./log-bridge";

/** Opened `spec` messages (host-auth.ts `openCall`): each spec is opened once per revision. */
const specs: SpecCache = new Map();
/** Nonces of the invoke and clear messages already run: each message runs once. */
const ledger = new NonceLedger();

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__host/health") return Response.json({ status: "ok" });
    const token = request.headers.get(HOST_AUTH_HEADER);

    if (url.pathname === "/__host/clear" && request.method === "POST") {
      const opened = await open(env.ATOLL_HOST_SECRET, token, "clear");
      if (!opened.ok || !ledger.admit(opened.message.nonce, opened.message.exp))
        return new Response("forbidden", { status: 403 });
      await env.INSTALLATION_STORE.get(
        env.INSTALLATION_STORE.idFromName(opened.message.installationId),
      ).clear();
      return new Response(null, { status: 204 });
    }
    if (url.pathname !== "/__host/invoke") return new Response("not found", { status: 404 });
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const body = hasBody ? new Uint8Array(await request.arrayBuffer()) : null;
    const call = await openCall(
      env.ATOLL_HOST_SECRET,
      {
        auth: token,
        spec: request.headers.get(HOST_SPEC_HEADER),
        method: request.method,
        headers: request.headers,
        body,
      },
      specs,
      ledger,
    );
    if (!call.ok) {
      if (call.reason !== "unknown-spec") return new Response("forbidden", { status: 403 });
      // The invoke is genuine (it opened): its nonce tells the gateway to send the spec.
      const failure: HostFailure = { kind: "unknown-spec", message: "send the spec" };
      return Response.json(failure, { status: 409, headers: { [HOST_ERROR_HEADER]: call.nonce } });
    }
    const { method, path, search, nonce, deadlineAt } = call.invoke;
    const { spec, grant, logs } = call.spec;
    if (grant) rememberGrant(spec.installationId, grant);
    if (logs) rememberLogsToken(spec.installationId, logs);

    // Exactly the headers the invoke sealed, and the body whose digest it carries.
    const pluginRequest = new Request(pluginUrl(PLUGIN_ORIGIN, path, search), {
      method,
      headers: call.headers,
      body: hasBody ? body : null,
    });
    const host = new LoaderHost(
      env.LOADER,
      env.PACKAGES,
      hostExports(ctx),
      undefined,
      // What is left of the gateway's deadline (at least 1 ms: none left spends nothing).
      Number.isFinite(deadlineAt) ? Math.max(1, deadlineAt - Date.now()) : 1,
    );
    let res: Response;
    try {
      res = await host.fetch(spec, pluginRequest);
    } catch (err) {
      // The plugin threw (or could not be loaded): tell the gateway, which names the cause.
      const failure: HostFailure = {
        kind: err instanceof PackageIntegrityError ? "integrity" : "error",
        message: err instanceof Error ? err.message : String(err),
      };
      return Response.json(failure, { status: 502, headers: { [HOST_ERROR_HEADER]: nonce } });
    }
    if (headerBytes(res.headers) > MAX_PLUGIN_HEADER_BYTES) {
      await res.body?.cancel();
      const failure: HostFailure = {
        kind: "headers-too-large",
        message: "the plugin's response headers are too large",
      };
      return Response.json(failure, { status: 502, headers: { [HOST_ERROR_HEADER]: nonce } });
    }
    const out = new Headers(res.headers);
    for (const name of [...out.keys()]) if (name.startsWith(HOST_HEADER_PREFIX)) out.delete(name);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
  },
} satisfies ExportedHandler<HostEnv>;
