/** The OpenAPI 3.1 document (generated from the route definitions) and the interactive reference. */
import { Scalar } from "@scalar/hono-api-reference";
// Scalar's browser bundle, copied from node_modules by scripts/assets.mjs (see there).
import scalarBundle from "../../.generated/scalar-standalone.txt";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../platform/http/router";
import { mountSdks } from "./codegen/routes";
import { withOperationIds, type OpenApiDocument } from "./codegen/spec";
import { finishedDocument } from "./document";
import { SCOPES } from "../access/scopes";

const SCALAR_PATH = "/docs/scalar.js";

/**
 * The reference page loads nothing from another origin (docs/api.md "OpenAPI and the reference"):
 * Scalar's bundle is served from this origin, its web fonts (fonts.scalar.com) are off, and the
 * features that call Scalar's services are off: the AI agent (its chat and API registry, through
 * proxy.scalar.com), the developer toolbar (share, deploy), the "Open API Client" links (they hand
 * the document's URL to client.scalar.com), telemetry.
 * "Test request" goes straight to this origin (no proxyUrl).
 */
const SCALAR_CONFIG = {
  url: "/openapi.json",
  pageTitle: "Atoll API reference",
  cdn: SCALAR_PATH,
  withDefaultFonts: false,
  agent: { disabled: true },
  showDeveloperTools: "never",
  hideClientButton: true,
  telemetry: false,
} satisfies Parameters<typeof Scalar>[0];

/**
 * The reference page's Content-Security-Policy: everything from this origin only. Its one inline
 * script (Scalar's start call, built from SCALAR_CONFIG above, no request data) is allowed by its
 * hash; styles need 'unsafe-inline' (Scalar's components inject theirs at run time).
 */
let docsPolicy: string | null = null;
const docsCsp: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  // The page is the same for every request (built from SCALAR_CONFIG): hashed once per isolate.
  docsPolicy ??= await policyFor(await c.res.clone().text());
  c.res.headers.set("content-security-policy", docsPolicy);
};

async function policyFor(html: string): Promise<string> {
  const hashes = await Promise.all(
    [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
      async (m) => `'sha256-${await sha256Base64(m[1] ?? "")}'`,
    ),
  );
  return [
    "default-src 'self'",
    `script-src 'self' ${hashes.join(" ")}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

export const OPENAPI_INFO = {
  title: "Atoll API",
  version: "0.1.0",
  description:
    "The Atoll platform API. Authenticate with an API key (`X-API-Key`) or an access token from `POST /oauth/token` " +
    "(`Authorization: Bearer`). Every authenticated response carries `RateLimit-Policy` and `RateLimit` headers; a 429 carries `Retry-After`. " +
    "Errors are RFC 9457 problem documents.",
};

/** Registers the security schemes and serves `/openapi.json` and `/docs` on `app`. */
export function mountOpenApi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "An Atoll API key (atk_…)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "oauth2", {
    type: "oauth2",
    description:
      "OAuth 2.0 client credentials: an API key's id is the client_id and the key its client_secret. Access tokens last 15 minutes; a token carries at most the key's scopes.",
    flows: {
      clientCredentials: {
        // Relative to the server URL (OpenAPI 3.1 resolves it against `servers`).
        tokenUrl: "/oauth/token",
        scopes: { ...SCOPES },
      },
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "An access token: from POST /oauth/token, or from the organization's own identity provider when one is configured (or an API key)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "clientBasic", {
    type: "http",
    scheme: "basic",
    description: "client_id:client_secret for the token endpoint",
  });
  // The document is built once per isolate (routes do not change at run time), with operationIds.
  let doc: OpenApiDocument | null = null;
  const document = (env: Env): OpenApiDocument =>
    (doc ??= finishedDocument(
      withOperationIds(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: OPENAPI_INFO,
          servers: [{ url: env.ATOLL_ISSUER }],
        }) as unknown as OpenApiDocument,
      ),
    ));
  mountSdks(app, document);
  app.get("/openapi.json", (c) => c.json(document(c.env)));
  app.get(SCALAR_PATH, (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", "public, max-age=86400");
    return c.body(scalarBundle);
  });
  app.get("/docs", docsCsp, Scalar(SCALAR_CONFIG));
}
