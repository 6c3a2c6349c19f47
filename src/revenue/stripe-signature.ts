/**
 * Stripe webhook signatures (https://docs.stripe.com/webhooks#verify-manually), pure:
 * `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">[,v1=…]`, checked
 * over the raw bytes with a constant-time comparison and a timestamp window in both directions.
 */
import { toHex } from "../platform/crypto/encoding";
import { hmacSha256, secretsEqual } from "../platform/crypto/hash";
import type { Result } from "../contract/result";

export const TOLERANCE_SECONDS = 300;

export type SignatureCheck = Result<
  { timestamp: number },
  { reason: "missing" | "malformed" | "outside-window" | "mismatch" }
>;

export async function signStripe(
  secret: string,
  timestamp: number,
  payload: string,
): Promise<string> {
  return toHex(await hmacSha256(secret, `${timestamp}.${payload}`));
}

export async function verifyStripe(
  secret: string,
  header: string | undefined,
  payload: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: "missing" };
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [k, v] = part.split("=", 2).map((x) => x.trim());
    if (k === "t" && v && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    if (k === "v1" && v && /^[0-9a-f]{64}$/.test(v)) signatures.push(v);
  }
  if (timestamp === null || signatures.length === 0) return { ok: false, reason: "malformed" };
  if (Math.abs(nowSeconds - timestamp) > TOLERANCE_SECONDS)
    return { ok: false, reason: "outside-window" };
  const expected = await signStripe(secret, timestamp, payload);
  let match = false;
  // Every candidate is compared (constant time each), so timing does not say which one matched.
  for (const s of signatures) if (await secretsEqual(s, expected)) match = true;
  return match ? { ok: true, timestamp } : { ok: false, reason: "mismatch" };
}
