/** Hashing and constant-time comparison for secrets. */
import { toHex, utf8 } from "./encoding";

export async function sha256Hex(input: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const data = typeof input === "string" ? utf8(input) : input;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

/**
 * Constant-time equality of two strings. Both sides are hashed first so that the comparison
 * takes the same time whatever the lengths (workerd's timingSafeEqual requires equal lengths).
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest("SHA-256", utf8(a)),
    crypto.subtle.digest("SHA-256", utf8(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/** HMAC-SHA256 of `message` under `secret` (webhook signatures). */
export async function hmacSha256(
  secret: string,
  message: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey(
    "raw",
    utf8(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(message)));
}
