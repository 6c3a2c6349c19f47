/**
 * The local plugin host Worker (see wrangler.toml beside this file). It answers only the gateway:
 *
 *   POST /__host/invoke/<plugin path>   run the plugin request (spec in x-atoll-host-spec)
 *   POST /__host/clear/<installationId> delete an installation's storage (uninstall)
 *   GET  /__host/health                 liveness, for the supervisor
 *
 * Every call carries x-atoll-host-secret (ATOLL_HOST_SECRET), compared in constant time.
 */
import { secretsEqual } from "../crypto/hash";
import { fromBase64Url } from "../crypto/encoding";
import { LoaderHost, type HostExports } from "../runtime/loader-host";
import type { PluginSpec } from "../runtime/spec";
import { HOST_ERROR_HEADER, HOST_SECRET_HEADER, HOST_SPEC_HEADER } from "../runtime/service-host";
import type { HostEnv } from "./env";

export { Egress } from "../runtime/egress";
export { InstallationStore, PluginStorage } from "../runtime/storage";
export { HostIntegrationGate as IntegrationGate } from "./integration-bridge";

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__host/health") return Response.json({ status: "ok" });
    const presented = request.headers.get(HOST_SECRET_HEADER) ?? "";
    if (!env.ATOLL_HOST_SECRET || !(await secretsEqual(presented, env.ATOLL_HOST_SECRET))) return new Response("forbidden", { status: 403 });

    const clear = /^\/__host\/clear\/(ins_[0-9A-Za-z]+)$/.exec(url.pathname);
    if (clear?.[1] && request.method === "POST") {
      await env.INSTALLATION_STORE.get(env.INSTALLATION_STORE.idFromName(clear[1])).clear();
      return new Response(null, { status: 204 });
    }
    if (!url.pathname.startsWith("/__host/invoke/")) return new Response("not found", { status: 404 });

    const spec = JSON.parse(new TextDecoder().decode(fromBase64Url(request.headers.get(HOST_SPEC_HEADER) ?? ""))) as PluginSpec;
    const headers = new Headers(request.headers);
    for (const h of [HOST_SECRET_HEADER, HOST_SPEC_HEADER, "host"]) headers.delete(h);
    const pluginUrl = new URL(url.pathname.slice("/__host/invoke".length) + url.search, "https://plugin.atoll.internal");
    const pluginRequest = new Request(pluginUrl, { method: request.method, headers, body: request.body });
    const host = new LoaderHost(env.LOADER, env.PACKAGES, ctx.exports as unknown as HostExports);
    try {
      return await host.fetch(spec, pluginRequest);
    } catch (err) {
      // The plugin threw (or could not be loaded): tell the gateway, which names the cause.
      return new Response(err instanceof Error ? err.message : String(err), { status: 502, headers: { [HOST_ERROR_HEADER]: "1" } });
    }
  },
} satisfies ExportedHandler<HostEnv>;
