/**
 * Access tokens the platform issues (RFC 9068 JWT profile): EdDSA-signed, `typ: at+jwt`,
 * with iss, aud, sub, exp, iat, jti, client_id, org, role and scope.
 */
import { SignJWT } from "jose";
import { z } from "zod";
import { newId } from "../../platform/crypto/encoding";
import type { Db } from "../../platform/db/client";
import { ACCESS_TOKEN_TYP, PLATFORM_ALGORITHMS, verifyJwt, type JwtResult } from "./jwt";
import type { KeyRing } from "./keyring";
import { ACCESS_TOKEN_TTL_SEC } from "./signing-keys";

export const AccessClaims = z.object({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  sub: z.string(),
  exp: z.number(),
  iat: z.number(),
  jti: z.string(),
  client_id: z.string(),
  org: z.string(),
  role: z.enum(["owner", "admin", "member"]),
  scope: z.string(),
});
export type AccessClaims = z.infer<typeof AccessClaims>;

export interface IssueInput {
  userId: string;
  orgId: string;
  role: AccessClaims["role"];
  keyId: string;
  scopes: string[];
  /** The minting key's own expiry (ms); the token never outlives it. */
  keyExpiresAt: number | null;
}

export async function issueAccessToken(
  ring: KeyRing,
  db: Db,
  cfg: { issuer: string; audience: string; secret: string },
  input: IssueInput,
  now = Date.now(),
): Promise<{ token: string; expiresIn: number }> {
  const key = await ring.signingKey(db, cfg.secret);
  const nowSec = Math.floor(now / 1000);
  let exp = nowSec + ACCESS_TOKEN_TTL_SEC;
  if (input.keyExpiresAt !== null) exp = Math.min(exp, Math.floor(input.keyExpiresAt / 1000));
  const token = await new SignJWT({
    client_id: input.keyId,
    org: input.orgId,
    role: input.role,
    scope: input.scopes.join(" "),
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(cfg.issuer)
    .setAudience(cfg.audience)
    .setSubject(input.userId)
    .setIssuedAt(nowSec)
    .setExpirationTime(exp)
    .setJti(newId("jti"))
    .sign(key.privateKey);
  return { token, expiresIn: exp - nowSec };
}

/** Verifies a platform-issued access token (RFC 8725 checks in `verifyJwt`), then its claim shapes. */
export async function verifyAccessToken(
  ring: KeyRing,
  db: Db,
  cfg: { issuer: string; audience: string },
  token: string,
  now?: Date,
): Promise<JwtResult<AccessClaims>> {
  const result = await verifyJwt(token, {
    issuer: cfg.issuer,
    audience: cfg.audience,
    algorithms: PLATFORM_ALGORITHMS,
    typ: ACCESS_TOKEN_TYP,
    resolveKey: (kid) => ring.resolve(db, kid),
    requiredClaims: ["sub", "iat", "jti", "client_id", "org"],
    ...(now ? { currentDate: now } : {}),
  });
  if (!result.ok) return result;
  const parsed = AccessClaims.safeParse(result.claims);
  if (!parsed.success)
    return {
      ok: false,
      reason: "claims",
      detail: "The token's claims are not those of an Atoll access token.",
    };
  return { ok: true, claims: parsed.data, header: result.header };
}
