/**
 * Optional external identity provider: tokens whose `iss` is ATOLL_IDP_ISSUER are verified
 * against the provider's JWKS (fetched from the configured URL only, through jose's
 * `createRemoteJWKSet`, which caches keys and rate-limits refetches). The claim named by
 * ATOLL_IDP_ORG_CLAIM must hold the slug of an Atoll organization.
 */
import { createRemoteJWKSet, errors, type JWTPayload } from "jose";
import { verifyJwt, type JwtResult } from "./jwt";

export const EXTERNAL_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"] as const;

export interface IdpConfig {
  issuer: string;
  jwksUrl: string;
  audience: string;
  orgClaim: string;
}

export function idpConfig(env: Env): IdpConfig | null {
  if (!env.ATOLL_IDP_ISSUER || !env.ATOLL_IDP_JWKS_URL || !env.ATOLL_IDP_AUDIENCE) return null;
  return {
    issuer: env.ATOLL_IDP_ISSUER,
    jwksUrl: env.ATOLL_IDP_JWKS_URL,
    audience: env.ATOLL_IDP_AUDIENCE,
    orgClaim: env.ATOLL_IDP_ORG_CLAIM || "org",
  };
}

const jwksByUrl = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function remoteJwks(url: string) {
  let set = jwksByUrl.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 30_000,
      timeoutDuration: 5_000,
    });
    jwksByUrl.set(url, set);
  }
  return set;
}

export async function verifyExternalToken(
  cfg: IdpConfig,
  token: string,
): Promise<JwtResult<JWTPayload & { sub: string; orgSlug: string }>> {
  const jwks = remoteJwks(cfg.jwksUrl);
  const result = await verifyJwt<JWTPayload>(token, {
    issuer: cfg.issuer,
    audience: cfg.audience,
    algorithms: EXTERNAL_ALGORITHMS,
    typ: null,
    requiredClaims: ["sub"],
    resolveKey: async (kid, alg) => {
      try {
        return await jwks({ alg, ...(kid ? { kid } : {}) });
      } catch (err) {
        if (
          err instanceof errors.JWKSNoMatchingKey ||
          err instanceof errors.JWKSMultipleMatchingKeys
        )
          return null;
        throw err;
      }
    },
  });
  if (!result.ok) return result;
  const org = result.claims[cfg.orgClaim];
  if (typeof org !== "string" || !result.claims.sub) {
    return {
      ok: false,
      reason: "claims",
      detail: `The token's "${cfg.orgClaim}" claim must name an organization.`,
    };
  }
  return {
    ok: true,
    header: result.header,
    claims: { ...result.claims, sub: result.claims.sub, orgSlug: org },
  };
}
