/**
 * Signatures of outbound webhook deliveries (pure, no I/O). Every POST to an endpoint carries
 *
 *     Atoll-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * with one `v1=` per secret that is live: during a rotation's grace period the header holds two
 * (the new secret's first), as Stripe's does, so a receiver that still has the old secret keeps
 * verifying. The HMAC key is the secret string as given (`whsec_…`, UTF-8). A receiver recomputes
 * the HMAC over the timestamp and the exact bytes it received, compares in constant time with each
 * `v1`, and refuses a timestamp more than five minutes away (a captured delivery cannot be replayed
 * later). The recipe, with Node's crypto, is in docs/events.md; `atoll webhooks verify` runs this
 * module. Part of the contract because receivers outside the platform (the CLI) check it too: it
 * uses only Web Crypto, which Workers and Node share.
 */
import type { NoFields, Result } from "./result";

const utf8 = (s: string) => new TextEncoder().encode(s);

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** 64 hex digits (already checked by the parser) as 32 bytes. */
const fromHex = (h: string) =>
  Uint8Array.from({ length: h.length / 2 }, (_, i) => parseInt(h.slice(i * 2, i * 2 + 2), 16));

export const SIGNATURE_HEADER = "Atoll-Signature";
export const SIGNATURE_TOLERANCE_SECONDS = 300;
/** `whsec_` and 32 random bytes in base64url. */
export const SECRET_PATTERN = /^whsec_[A-Za-z0-9_-]{43}$/;

/** The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`. */
export async function signatureOf(
  secret: string,
  timestamp: string,
  body: string,
): Promise<string> {
  return hex(await crypto.subtle.sign("HMAC", await hmacKey(secret), utf8(`${timestamp}.${body}`)));
}

/**
 * The header value for `body` sent at `nowMs`, signed by every live secret (newest first).
 *
 * @example
 * await signatureHeader(["whsec_…"], '{"id":"pev_1"}', 1_700_000_000_000);
 * // "t=1700000000,v1=5f0c…"
 */
export async function signatureHeader(
  secrets: readonly string[],
  body: string,
  nowMs: number,
): Promise<string> {
  if (secrets.length === 0) throw new Error("a delivery needs at least one signing secret");
  const t = String(Math.floor(nowMs / 1000));
  const parts = [`t=${t}`];
  for (const s of secrets) parts.push(`v1=${await signatureOf(s, t, body)}`);
  return parts.join(",");
}

export type VerifyFailure = "missing" | "malformed" | "outside-window" | "mismatch";

/** Splits a header into its timestamp and its v1 signatures, or null when it is not one. */
export function parseSignatureHeader(header: string): { t: string; v1: string[] } | null {
  const parts = header.trim().split(",");
  if (parts.length < 2 || parts.length > 8) return null;
  let t: string | null = null;
  const v1: string[] = [];
  for (const part of parts) {
    const m = /^(t|v1)=([0-9a-f]+)$/.exec(part.trim());
    if (!m) return null;
    if (m[1] === "t") {
      if (t !== null || !/^\d{1,12}$/.test(m[2]!)) return null;
      t = m[2]!;
    } else {
      if (m[2]!.length !== 64) return null;
      v1.push(m[2]!);
    }
  }
  return t !== null && v1.length > 0 ? { t, v1 } : null;
}

/**
 * What a receiver does: parse, check the window, compare each v1 in constant time (Web Crypto's
 * HMAC verify).
 */
export async function verifySignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  nowMs: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): Promise<Result<NoFields, { reason: VerifyFailure }>> {
  if (!header) return { ok: false, reason: "missing" };
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, reason: "malformed" };
  if (Math.abs(Number(parsed.t) - nowMs / 1000) > toleranceSeconds)
    return { ok: false, reason: "outside-window" };
  const key = await hmacKey(secret);
  const signed = utf8(`${parsed.t}.${body}`);
  for (const candidate of parsed.v1)
    if (await crypto.subtle.verify("HMAC", key, fromHex(candidate), signed)) return { ok: true };
  return { ok: false, reason: "mismatch" };
}
