/** Values the Node-side global setups hand to the tests (vitest's provide/inject). */
import type { ManifestRoute } from "../src/contract/manifest";

declare module "vitest" {
  export interface ProvidedContext {
    cloudflareApi: { url: string; token: string };
    /** A loopback server no plugin may reach (test/hostile/canary.mjs). */
    canary: string;
    /** The SaaS provider stand-ins (scripts/standins/saas.mjs): {url}/salesforce, /hubspot, /slack, /zapier, /crm. */
    saas: string;
    /** The mail stand-in (scripts/standins/mail.mjs, Mailpit's API): where invitations are mailed. */
    mail: string;
    /** The production outbound Worker (workers/outbound/src/index.ts) bundled as one ES module. */
    outboundWorker: { module: string; compatibilityDate: string };
    plugins: Record<
      string,
      {
        zipBase64: string;
        manifest: {
          name: string;
          version: string;
          permissions: string[];
          routes: ManifestRoute[];
        };
        conformance: {
          config: Record<string, unknown>;
          secrets: Record<string, string>;
          execute?: { input: unknown; output?: unknown };
          get?: { path: string; status: number };
        };
      }
    >;
  }
}
