/**
 * Signatures of outbound hook deliveries (pure): every POST to a subscribed hook carries
 *
 *     Atoll-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * under the hook's own signing secret (returned once, when the hook is subscribed). A receiver
 * recomputes the HMAC over the timestamp and the exact bytes received, compares in constant time
 * and refuses timestamps more than five minutes away. The secret is derived from the platform key
 * and the hook id, so it is never stored (rotating ATOLL_SECRET_KEY rotates every hook's secret).
 */
import { toBase64Url, toHex } from "../platform/crypto/encoding";
import { hmacSha256, secretsEqual } from "../platform/crypto/hash";

export const HOOK_SIGNATURE_HEADER = "atoll-signature";
export const HOOK_SIGNATURE_TOLERANCE_SECONDS = 300;

/** The hook's signing secret: `whsec_` + HMAC(platform key, "zapier-hook:<id>"). */
export async function hookSecret(platformKey: string, hookId: string): Promise<string> {
  return `whsec_${toBase64Url(await hmacSha256(platformKey, `zapier-hook:${hookId}`))}`;
}

/** The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`. */
export async function hookSignature(
  secret: string,
  timestamp: string,
  body: string,
): Promise<string> {
  return toHex(await hmacSha256(secret, `${timestamp}.${body}`));
}

/** The `Atoll-Signature` header value for a delivery of `body` at `nowMs`. */
export async function signHookDelivery(
  secret: string,
  body: string,
  nowMs = Date.now(),
): Promise<string> {
  const t = String(Math.floor(nowMs / 1000));
  return `t=${t},v1=${await hookSignature(secret, t, body)}`;
}

/** What a receiver does: parse, check the window, compare in constant time. */
export async function verifyHookDelivery(
  secret: string,
  header: string | null,
  body: string,
  nowMs = Date.now(),
): Promise<
  { ok: true } | { ok: false; reason: "missing" | "malformed" | "outside-window" | "mismatch" }
> {
  if (!header) return { ok: false, reason: "missing" };
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header.trim());
  if (!m) return { ok: false, reason: "malformed" };
  if (Math.abs(Number(m[1]) - nowMs / 1000) > HOOK_SIGNATURE_TOLERANCE_SECONDS)
    return { ok: false, reason: "outside-window" };
  return (await secretsEqual(await hookSignature(secret, m[1]!, body), m[2]!))
    ? { ok: true }
    : { ok: false, reason: "mismatch" };
}
