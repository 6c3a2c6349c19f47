/**
 * Stripe webhook signatures (https://docs.stripe.com/webhooks#verify-manually), pure:
 * `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">[,v1=…]`, checked
 * over the raw bytes with a constant-time comparison and a timestamp window in both directions.
 */
import { toHex, utf8 } from "../crypto/encoding";

export const TOLERANCE_SECONDS = 300;

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: "missing" | "malformed" | "outside-window" | "mismatch" };

export async function signStripe(secret: string, timestamp: number, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(`${timestamp}.${payload}`))));
}

export async function verifyStripe(secret: string, header: string | undefined, payload: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: "missing" };
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [k, v] = part.split("=", 2).map((x) => x.trim());
    if (k === "t" && v && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    if (k === "v1" && v && /^[0-9a-f]{64}$/.test(v)) signatures.push(v);
  }
  if (timestamp === null || signatures.length === 0) return { ok: false, reason: "malformed" };
  if (Math.abs(nowSeconds - timestamp) > TOLERANCE_SECONDS) return { ok: false, reason: "outside-window" };
  const expected = utf8(await signStripe(secret, timestamp, payload));
  let match = false;
  for (const s of signatures) {
    const given = utf8(s);
    // Equal lengths (64 hex) by the regex above; timingSafeEqual compares in constant time.
    if (given.byteLength === expected.byteLength && crypto.subtle.timingSafeEqual(given, expected)) match = true;
  }
  return match ? { ok: true, timestamp } : { ok: false, reason: "mismatch" };
}
