/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): `client_id` = an API key's id, `client_secret` =
 * the key. Errors are problem documents that also carry RFC 6749's `error` and
 * `error_description` members, so OAuth client libraries understand them.
 * Also the JWKS (`/.well-known/jwks.json`) and authorization-server metadata (RFC 8414).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type AppEnv, createRouter } from "../../platform/http/router";
import { issueAccessToken } from "../tokens/access-token";
import { isolateState } from "../credential-cache";
import { checkApiKeyFormat } from "../tokens/api-key";
import { findKeyByHash } from "../api-keys";
import { sha256Hex } from "../../platform/crypto/hash";
import { getDb } from "../../platform/db/client";
import { ApiError } from "../../platform/http/problem";
import { problems } from "../../platform/http/schemas";
import { ALL_SCOPES, effectiveScopes, isScope } from "../scopes";
import { limitFor, rateLimitHeaders } from "../ratelimit/policy";
import { takePlanQuota } from "../ratelimit/quota";
import { principalFromKey } from "../authenticate";

type OAuthError =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "invalid_scope";

function oauthError(
  error: OAuthError,
  description: string,
  status: 400 | 401 | 429 = 400,
  headers: Record<string, string> = {},
): ApiError {
  return new ApiError({
    status,
    type: `oauth/${error.replace(/_/g, "-")}`,
    title:
      status === 401
        ? "Client authentication failed"
        : status === 429
          ? "Too many requests"
          : "Invalid token request",
    detail: description,
    headers: { "cache-control": "no-store", ...headers },
    extensions: { error, error_description: description },
  });
}

const TokenRequest = z
  .object({
    grant_type: z.string().optional().openapi({ example: "client_credentials" }),
    client_id: z
      .string()
      .optional()
      .openapi({ description: "The API key's id (omit when using HTTP Basic)" }),
    client_secret: z
      .string()
      .optional()
      .openapi({ description: "The API key (omit when using HTTP Basic)" }),
    scope: z
      .string()
      .optional()
      .openapi({ description: "Space-separated subset of the key's scopes" }),
  })
  .openapi("TokenRequest");

const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int(),
    scope: z.string(),
  })
  .openapi("TokenResponse");

export const oauthRoutes = createRouter();

/** RFC 6749 §4.4.2: the request is form-encoded; anything else is an invalid_request. */
const formOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(c.req.header("content-type") ?? "")) {
    throw oauthError(
      "invalid_request",
      "The token request must be application/x-www-form-urlencoded.",
    );
  }
  return next();
};

const token = createRoute({
  method: "post",
  path: "/oauth/token",
  tags: ["OAuth"],
  summary: "Exchange API-key client credentials for a short-lived access token (JWT)",
  description:
    "RFC 6749 §4.4. Send the credentials in the form body or with HTTP Basic (client_id:client_secret), not both.",
  security: [{}, { clientBasic: [] }] as Array<Record<string, string[]>>,
  middleware: [
    formOnly,
    bodyLimit({
      maxSize: 8 * 1024,
      onError: () => {
        throw oauthError("invalid_request", "The token request body exceeds 8 KiB.");
      },
    }),
  ],
  request: {
    body: {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: TokenRequest } },
    },
  },
  responses: {
    200: {
      description: "An access token",
      content: { "application/json": { schema: TokenResponse } },
    },
    ...problems(400, 401, 413, 415, 429),
  },
});

function basicCredentials(c: Context<AppEnv>): { id: string; secret: string } | null | "malformed" {
  const header = c.req.header("authorization");
  if (!header) return null;
  const m = /^Basic[ \t]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) return "malformed";
  let decoded: string;
  try {
    decoded = atob(m[1]);
  } catch {
    return "malformed";
  }
  const i = decoded.indexOf(":");
  if (i < 0) return "malformed";
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, i)),
      secret: decodeURIComponent(decoded.slice(i + 1)),
    };
  } catch {
    return "malformed";
  }
}

oauthRoutes.openapi(token, async (c) => {
  const form = c.req.valid("form");
  if (form.grant_type !== "client_credentials") {
    throw oauthError(
      form.grant_type ? "unsupported_grant_type" : "invalid_request",
      form.grant_type
        ? `grant_type "${form.grant_type}" is not supported; use client_credentials.`
        : "grant_type is required.",
    );
  }
  const basic = basicCredentials(c);
  if (basic === "malformed")
    throw oauthError("invalid_client", "The Basic credentials are malformed.", 401, {
      "www-authenticate": 'Basic realm="atoll"',
    });
  if (basic && (form.client_id || form.client_secret))
    throw oauthError(
      "invalid_request",
      "Send client credentials either in the body or with HTTP Basic, not both.",
    );
  const clientId = basic?.id ?? form.client_id;
  const clientSecret = basic?.secret ?? form.client_secret;
  if (!clientId || !clientSecret)
    throw oauthError("invalid_request", "client_id and client_secret are required.");

  const failClient = () =>
    oauthError(
      "invalid_client",
      "Unknown client or wrong secret.",
      401,
      basic ? { "www-authenticate": 'Basic realm="atoll"' } : {},
    );
  if (!checkApiKeyFormat(clientSecret).ok) throw failClient();
  const db = getDb(c.env.DB);
  const record = await findKeyByHash(db, await sha256Hex(clientSecret));
  if (!record || record.keyId !== clientId) throw failClient();
  let principal;
  try {
    principal = principalFromKey(record, Date.now());
  } catch (err) {
    throw oauthError(
      "invalid_client",
      err instanceof ApiError && err.detail ? err.detail : "The client's key is not usable.",
      401,
    );
  }

  // Token minting is limited by the organization's plan, one quota for all its keys.
  const limit = limitFor(principal.plan, "token");
  const decision = await takePlanQuota(isolateState(c.env).limiter, principal, "token", limit);
  if (!decision.allowed) {
    if (decision.reason === "revoked")
      throw oauthError("invalid_client", "The API key has been revoked.", 401);
    const now = Date.now();
    const resetAt = decision.reason === "limited" ? decision.resetAt : now + 1000;
    const retry = String(Math.max(1, Math.ceil((resetAt - now) / 1000)));
    throw oauthError(
      "invalid_request",
      `Too many token requests for this client; retry in ${retry} s.`,
      429,
      { ...rateLimitHeaders("token", limit, 0, resetAt, now), "retry-after": retry },
    );
  }

  let scopes = principal.scopes;
  if (form.scope !== undefined) {
    const requested = form.scope.split(" ").filter(Boolean);
    const unknown = requested.filter((s) => !isScope(s) || !principal.scopes.includes(s));
    if (unknown.length > 0 || requested.length === 0)
      throw oauthError(
        "invalid_scope",
        `The key cannot grant: ${unknown.join(", ") || "(empty scope)"}.`,
      );
    scopes = effectiveScopes(requested, record.role ?? "member");
  }
  const issued = await issueAccessToken(
    isolateState(c.env).ring,
    db,
    { issuer: c.env.ATOLL_ISSUER, audience: c.env.ATOLL_AUDIENCE, secret: c.env.ATOLL_SECRET_KEY },
    {
      userId: record.userId,
      orgId: record.orgId,
      role: record.role ?? "member",
      keyId: record.keyId,
      scopes,
      keyExpiresAt: record.expiresAt,
    },
  );
  c.header("cache-control", "no-store");
  c.header("pragma", "no-cache");
  return c.json(
    {
      access_token: issued.token,
      token_type: "Bearer" as const,
      expires_in: issued.expiresIn,
      scope: scopes.join(" "),
    },
    200,
  );
});

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi("JWKS");

const jwks = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  security: [], // public: no credential
  tags: ["OAuth"],
  summary: "The public keys that verify Atoll access tokens (current and previous)",
  responses: {
    200: { description: "JWK Set (RFC 7517)", content: { "application/json": { schema: Jwks } } },
  },
});

oauthRoutes.openapi(jwks, async (c) => {
  const keys = await isolateState(c.env).ring.publicJwks(getDb(c.env.DB));
  if (keys.length === 0) {
    // First start: make sure there is a key to publish.
    await isolateState(c.env).ring.signingKey(getDb(c.env.DB), c.env.ATOLL_SECRET_KEY);
    isolateState(c.env).ring.invalidate();
  }
  const published =
    keys.length > 0 ? keys : await isolateState(c.env).ring.publicJwks(getDb(c.env.DB));
  c.header("cache-control", "public, max-age=60");
  return c.json({ keys: published }, 200);
});

const metadata = createRoute({
  method: "get",
  path: "/.well-known/oauth-authorization-server",
  security: [], // public: no credential
  tags: ["OAuth"],
  summary: "Authorization server metadata (RFC 8414)",
  responses: {
    200: {
      description: "Metadata",
      content: {
        "application/json": {
          schema: z.record(z.string(), z.unknown()).openapi("AuthorizationServerMetadata"),
        },
      },
    },
  },
});

oauthRoutes.openapi(metadata, (c) => {
  const iss = c.env.ATOLL_ISSUER;
  return c.json(
    {
      issuer: iss,
      token_endpoint: `${iss}/oauth/token`,
      jwks_uri: `${iss}/.well-known/jwks.json`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      response_types_supported: ["token"],
      scopes_supported: ALL_SCOPES,
    },
    200,
  );
});
