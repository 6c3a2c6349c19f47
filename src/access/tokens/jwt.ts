/**
 * Verification of access tokens, following RFC 8725 (JWT Best Current Practices). Pure: keys are
 * resolved from memory by the caller-supplied `resolveKey`; nothing here performs I/O, so a hostile
 * header can never make the platform fetch a URL.
 *
 * Checks, in order: the compact form; the protected header (explicit `typ`, an allowlisted `alg`,
 * no embedded `jwk`, no `jku`/`x5u`/`x5c`, no `crit`, a `kid` of a safe shape); the signature with
 * the key the `kid` names; then `iss`, `aud`, `exp` (required), `nbf`, `iat`, `sub`, `jti`.
 */
import {
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type CryptoKey,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from "jose";
import type { Result } from "../../contract/result";

export const ACCESS_TOKEN_TYP = "at+jwt"; // RFC 9068
export const PLATFORM_ALGORITHMS = ["EdDSA", "ES256"] as const;
/** Header parameters that would let a token choose its own key or extend processing. */
const FORBIDDEN_HEADER_PARAMS = ["jwk", "jku", "x5u", "x5c", "crit"] as const;
const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TOKEN_LENGTH = 8192;

export type JwtFailure =
  | "malformed"
  | "forbidden-header"
  | "algorithm"
  | "type"
  | "kid"
  | "unknown-key"
  | "signature"
  | "expired"
  | "not-yet-valid"
  | "issuer"
  | "audience"
  | "claims";

export type JwtResult<T> = Result<
  { claims: T; header: ProtectedHeaderParameters },
  { reason: JwtFailure; detail: string }
>;

export interface VerifyOptions {
  issuer: string;
  audience: string;
  algorithms: readonly string[];
  /** Required `typ` header, or null to accept tokens without one (external identity providers). */
  typ: string | null;
  /** Returns the verification key for a kid that passed the shape check, or null if unknown. */
  resolveKey: (
    kid: string | undefined,
    alg: string,
  ) => Promise<CryptoKey | null> | CryptoKey | null;
  requiredClaims?: string[];
  clockToleranceSec?: number;
  /** Injectable clock (seconds since epoch) for tests. */
  currentDate?: Date;
}

/** Inspects the header alone. Exported so that tests can check every refusal in isolation. */
export function checkHeader(
  token: string,
  opts: Pick<VerifyOptions, "algorithms" | "typ">,
): JwtResult<null> {
  if (token.length > MAX_TOKEN_LENGTH || token.split(".").length !== 3) {
    return { ok: false, reason: "malformed", detail: "The token is not a compact JWS." };
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: "malformed", detail: "The token header cannot be decoded." };
  }
  for (const p of FORBIDDEN_HEADER_PARAMS) {
    if (p in header)
      return {
        ok: false,
        reason: "forbidden-header",
        detail: `The token header may not contain "${p}".`,
      };
  }
  if (typeof header.alg !== "string" || !opts.algorithms.includes(header.alg)) {
    return {
      ok: false,
      reason: "algorithm",
      detail: `Algorithm ${JSON.stringify(header.alg ?? null)} is not accepted.`,
    };
  }
  if (
    opts.typ !== null &&
    (typeof header.typ !== "string" || header.typ.toLowerCase() !== opts.typ)
  ) {
    return { ok: false, reason: "type", detail: `The token type must be "${opts.typ}".` };
  }
  if (
    header.kid !== undefined &&
    (typeof header.kid !== "string" || !KID_PATTERN.test(header.kid))
  ) {
    return { ok: false, reason: "kid", detail: "The token's key id is not acceptable." };
  }
  return { ok: true, claims: null, header };
}

/** Verifies a JWT under the options; never throws for a bad token. */
export async function verifyJwt<T extends JWTPayload>(
  token: string,
  opts: VerifyOptions,
): Promise<JwtResult<T>> {
  const head = checkHeader(token, opts);
  if (!head.ok) return head;
  const { header } = head;
  const key = await opts.resolveKey(header.kid, header.alg as string);
  if (!key)
    return {
      ok: false,
      reason: "unknown-key",
      detail: "The token was signed by a key this platform does not know.",
    };
  try {
    const { payload } = await jwtVerify<T>(token, key, {
      issuer: opts.issuer,
      audience: opts.audience,
      algorithms: [...opts.algorithms],
      ...(opts.typ !== null ? { typ: opts.typ } : {}),
      requiredClaims: ["exp", ...(opts.requiredClaims ?? [])],
      clockTolerance: opts.clockToleranceSec ?? 30,
      ...(opts.currentDate ? { currentDate: opts.currentDate } : {}),
      crit: {},
    });
    return { ok: true, claims: payload, header };
  } catch (err) {
    return { ok: false, ...classify(err) };
  }
}

function classify(err: unknown): { reason: JwtFailure; detail: string } {
  if (err instanceof errors.JWTExpired)
    return { reason: "expired", detail: "The token has expired." };
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "iss":
        return { reason: "issuer", detail: "The token was not issued by this platform." };
      case "aud":
        return { reason: "audience", detail: "The token is not meant for this API." };
      case "nbf":
        return { reason: "not-yet-valid", detail: "The token is not valid yet." };
      case "iat":
        return { reason: "not-yet-valid", detail: "The token was issued in the future." };
      default:
        return {
          reason: "claims",
          detail: `The token's "${err.claim}" claim is missing or invalid.`,
        };
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return { reason: "signature", detail: "The token's signature is invalid." };
  if (err instanceof errors.JOSEAlgNotAllowed)
    return { reason: "algorithm", detail: "The token's algorithm is not accepted." };
  return { reason: "malformed", detail: "The token is malformed." };
}
