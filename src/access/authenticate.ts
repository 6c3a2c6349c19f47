/**
 * Authentication middleware: turns the request's credential into a `Principal`.
 *
 * Accepted: `X-API-Key: atk_…`, `Authorization: Bearer atk_…`, `Authorization: Bearer <JWT>`
 * (platform-issued, or from the configured external identity provider), and the operator key.
 * Warm path: no D1 access (API keys and org plans are cached; JWTs are verified in memory).
 */
import { decodeJwt } from "jose";
import type { RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { routeFactsOf, type AppEnv } from "../platform/http/router";
import { checkApiKeyFormat, looksLikeApiKey } from "./tokens/api-key";
import { findKeyByHash, findKeyRecordById, type KeyRecord } from "./api-keys";
import { sha256Hex, secretsEqual } from "../platform/crypto/hash";
import { getDb, type Db } from "../platform/db/client";
import { organizations, type Plan } from "../platform/db/schema";
import { ApiError, unauthorized } from "../platform/http/problem";
import { ALL_SCOPES, effectiveScopes, type Scope } from "./scopes";
import { verifyAccessToken } from "./tokens/access-token";
import { idpConfig, verifyExternalToken } from "./tokens/external-idp";
import { isolateState, type IsolateState } from "./credential-cache";
import type { Principal } from "./principal";
import { eq } from "drizzle-orm";
import { AUTHENTICATED, problemWith } from "../platform/http/schemas";
import { chargeRefusal } from "./ratelimit/middleware";
import { isProviderDelivery } from "./ratelimit/provider-webhooks";

/**
 * Which routes need no credential is declared by each route, in its router:
 * `createRoute(publicRoute({…}))` (or `optionalCredentialRoute`). That sets its OpenAPI `security`
 * and puts a marker middleware first in its handler chain, which authenticate() looks for among
 * the routes the request matched. Every other route behind authenticate() needs a credential.
 */
const anonymousAccess: MiddlewareHandler<AppEnv> = (_c, next) => next();
const optionalCredentialAccess: MiddlewareHandler<AppEnv> = (_c, next) => next();

type Route = Omit<RouteConfig, "path"> & { path: string };
const withMarker = (
  marker: MiddlewareHandler<AppEnv>,
  middleware: RouteConfig["middleware"],
): MiddlewareHandler[] => [
  marker as MiddlewareHandler,
  ...(middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware]),
];

/**
 * A route anyone may call without a credential (it proves itself otherwise, e.g. by a signature,
 * or is a public read). A credential that is sent is still checked: an invalid one is a 401, which
 * the document says — except on a provider's deliveries (`credentials: "ignored"`), which are
 * proven by their signature alone.
 */
export function publicRoute<R extends Route>(
  route: R,
  opts: { credentials?: "checked" | "ignored" } = {},
): R {
  const responses =
    opts.credentials === "ignored" || route.responses[401]
      ? route.responses
      : {
          ...route.responses,
          401: problemWith(
            "A credential was sent and it is invalid, expired or revoked (send none to call anonymously)",
          ),
        };
  return {
    ...route,
    responses,
    security: [],
    middleware: withMarker(anonymousAccess, route.middleware),
  };
}

/** A public route that reads a credential when one is sent (accepting an invitation as an existing account). */
export function optionalCredentialRoute<R extends Route>(route: R): R {
  return {
    ...route,
    security: [{}, ...AUTHENTICATED],
    middleware: withMarker(optionalCredentialAccess, route.middleware),
  };
}

/** How the route this request matched declared its access. */
export function declaredAccess(c: Context<AppEnv>): "public" | "optional" | "credential" {
  const handlers = routeFactsOf(c).routes.map((r) => r.handler);
  if (handlers.includes(optionalCredentialAccess)) return "optional";
  if (handlers.includes(anonymousAccess)) return "public";
  return "credential";
}

type Credential = { kind: "key"; value: string } | { kind: "bearer"; value: string };

function readCredential(headers: {
  get(name: string): string | null;
}): Credential | null | "bad-scheme" {
  const apiKey = headers.get("x-api-key");
  if (apiKey) return { kind: "key", value: apiKey.trim() };
  const authz = headers.get("authorization");
  if (!authz) return null;
  const m = /^Bearer[ \t]+([^\s]+)\s*$/i.exec(authz);
  if (!m?.[1]) return "bad-scheme";
  return looksLikeApiKey(m[1]) ? { kind: "key", value: m[1] } : { kind: "bearer", value: m[1] };
}

/**
 * Sets the request's principal. A credential that is sent is always checked, on public routes
 * too: a valid one is its holder's (the plan's rate limit applies everywhere), an invalid one is
 * 401 wherever it is sent. Only the provider deliveries, which prove themselves by a signature,
 * ignore credential headers. Every 401 is charged to the client IP's anonymous budget
 * (chargeRefusal), so refusals are rate-limited too.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("principal", null);
    const access = declaredAccess(c);
    const credential = readCredential(c.req.raw.headers);
    if (access !== "credential" && (credential === null || isProviderDelivery(c))) return next();
    // No handler for this method and path: let the not-found handler answer 404/405 precisely.
    if (!routeFactsOf(c).hasHandler) return next();
    try {
      c.set("principal", await resolve(c.env, credential));
    } catch (err) {
      throw await chargeRefusal(c, err);
    }
    return next();
  };
}

async function resolve(
  env: Env,
  credential: ReturnType<typeof readCredential>,
): Promise<Principal> {
  if (credential === null)
    throw unauthorized("Send an API key (X-API-Key) or a bearer token (Authorization: Bearer …).");
  if (credential === "bad-scheme")
    throw unauthorized("The Authorization header must use the Bearer scheme.", "scheme");
  const state = isolateState(env);
  const db = getDb(env.DB);
  return credential.kind === "key"
    ? fromApiKey(env, state, db, credential.value)
    : fromBearer(env, state, db, credential.value);
}

async function fromApiKey(env: Env, state: IsolateState, db: Db, key: string): Promise<Principal> {
  const format = checkApiKeyFormat(key);
  if (!format.ok) {
    if (env.ATOLL_OPERATOR_KEY && (await secretsEqual(key, env.ATOLL_OPERATOR_KEY)))
      return operatorPrincipal();
    throw unauthorized(
      format.reason === "checksum"
        ? "The API key's checksum does not match: it was mistyped or truncated."
        : "The API key is not in Atoll's format (atk_…).",
      "malformed",
    );
  }
  const record = await lookupKey(state, db, await sha256Hex(key));
  return principalFromKey(record, Date.now());
}

/** Exported for tests: the checks a stored key must pass, with their public reasons. */
export function principalFromKey(record: KeyRecord | null, now: number): Principal {
  if (!record) throw unauthorized("The API key is not valid.", "unknown");
  if (record.revokedAt !== null) throw unauthorized("The API key has been revoked.", "revoked");
  if (record.expiresAt !== null && record.expiresAt <= now)
    throw unauthorized("The API key has expired.", "expired");
  if (record.role === null)
    throw unauthorized(
      "The API key's holder is no longer a member of the organization.",
      "not-a-member",
    );
  return {
    method: "api_key",
    subject: record.keyId,
    userId: record.userId,
    orgId: record.orgId,
    role: record.role,
    scopes: effectiveScopes(record.scopes, record.role),
    plan: record.plan,
    keyId: record.keyId,
    expiresAt: record.expiresAt,
  };
}

async function lookupKey(state: IsolateState, db: Db, hash: string): Promise<KeyRecord | null> {
  const cached = state.keys.get(hash);
  if (cached) return cached;
  if (state.unknownKeys.get(hash)) return null;
  const record = await findKeyByHash(db, hash);
  if (record) state.keys.set(hash, record);
  else state.unknownKeys.set(hash, true);
  return record;
}

async function fromBearer(
  env: Env,
  state: IsolateState,
  db: Db,
  token: string,
): Promise<Principal> {
  const idp = idpConfig(env);
  if (idp) {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      iss = undefined;
    }
    if (iss === idp.issuer) return fromExternalToken(idp, state, db, token);
  }
  const now = Date.now();
  let claims = state.verifiedTokens.get(token, now);
  if (claims && claims.exp * 1000 <= now) {
    claims = undefined;
    throw unauthorized("The token has expired.", "expired");
  }
  if (!claims) {
    const result = await verifyAccessToken(
      state.ring,
      db,
      { issuer: env.ATOLL_ISSUER, audience: env.ATOLL_AUDIENCE },
      token,
    );
    if (!result.ok) throw unauthorized(result.detail, result.reason);
    claims = result.claims;
    state.verifiedTokens.set(token, claims, now);
  }
  // The token carries who and which key, not what they may do now: the key and its holder's
  // current role are read (cached, with the same invalidation as API keys), so a demotion, a
  // removal or a revocation narrows or ends every token minted before it.
  const record = await lookupKeyById(state, db, claims.client_id);
  if (record && (record.userId !== claims.sub || record.orgId !== claims.org))
    throw unauthorized("The token's claims do not match its key.", "claims");
  const key = principalFromKey(record, now);
  const granted = new Set(claims.scope.split(" "));
  return {
    method: "access_token",
    subject: claims.client_id,
    userId: claims.sub,
    orgId: claims.org,
    role: key.role,
    scopes: key.scopes.filter((s) => granted.has(s)),
    plan: key.plan,
    keyId: claims.client_id,
    expiresAt: claims.exp * 1000,
  };
}

async function lookupKeyById(
  state: IsolateState,
  db: Db,
  keyId: string,
): Promise<KeyRecord | null> {
  const cacheKey = `id:${keyId}`;
  const cached = state.keys.get(cacheKey);
  if (cached) return cached;
  const record = await findKeyRecordById(db, keyId);
  if (record) state.keys.set(cacheKey, record);
  return record;
}

async function fromExternalToken(
  idp: NonNullable<ReturnType<typeof idpConfig>>,
  state: IsolateState,
  db: Db,
  token: string,
): Promise<Principal> {
  let result;
  try {
    result = await verifyExternalToken(idp, token);
  } catch (err) {
    throw new ApiError({
      status: 502,
      type: "identity-provider-unavailable",
      title: "Identity provider unavailable",
      detail: "The external identity provider's keys could not be fetched.",
      internal: String(err),
    });
  }
  if (!result.ok) throw unauthorized(result.detail, result.reason);
  const org = await lookupOrg(state, db, { slug: result.claims.orgSlug });
  if (!org)
    throw unauthorized(
      `No organization "${result.claims.orgSlug}" exists for this identity.`,
      "claims",
    );
  const scopes: Scope[] = ["org:read"];
  return {
    method: "external_token",
    subject: `idp:${result.claims.sub}`,
    userId: null,
    orgId: org.id,
    role: "member",
    scopes,
    plan: org.plan,
    keyId: null,
    expiresAt: typeof result.claims.exp === "number" ? result.claims.exp * 1000 : null,
  };
}

async function lookupOrg(
  state: IsolateState,
  db: Db,
  by: { id: string } | { slug: string },
): Promise<{ id: string; slug: string; plan: Plan } | null> {
  const cacheKey = "id" in by ? `id:${by.id}` : `slug:${by.slug}`;
  const cached = state.orgs.get(cacheKey);
  if (cached) return cached;
  const [row] = await db
    .select({ id: organizations.id, slug: organizations.slug, plan: organizations.plan })
    .from(organizations)
    .where("id" in by ? eq(organizations.id, by.id) : eq(organizations.slug, by.slug))
    .limit(1);
  if (row) state.orgs.set(cacheKey, row);
  return row ?? null;
}

function operatorPrincipal(): Principal {
  return {
    method: "operator_key",
    subject: "operator",
    userId: null,
    orgId: null,
    role: "operator",
    scopes: [...ALL_SCOPES],
    plan: "operator",
    keyId: null,
    expiresAt: null,
  };
}
