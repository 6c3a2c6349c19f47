/**
 * Encryption at rest (AES-256-GCM). The key comes from the ATOLL_SECRET_KEY secret
 * (32 bytes, base64url); each value gets a fresh 96-bit IV. The stored form is
 * `v1.<iv>.<ciphertext>` so that the scheme can change later without ambiguity.
 * `context` is bound as additional data: a ciphertext moved to another row fails to decrypt.
 */
import { fromBase64Url, toBase64Url, utf8 } from "./encoding";

const keyCache = new Map<string, Promise<CryptoKey>>();

export function importSecretKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    let raw: Uint8Array<ArrayBuffer>;
    try {
      raw = fromBase64Url(secret.trim());
    } catch {
      throw new Error("ATOLL_SECRET_KEY is not base64url");
    }
    if (raw.length !== 32) throw new Error("ATOLL_SECRET_KEY must be 32 bytes (base64url)");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keyCache.set(secret, key);
  }
  return key;
}

export async function encryptString(
  secret: string,
  plaintext: string,
  context: string,
): Promise<string> {
  const key = await importSecretKey(secret);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8(context) },
    key,
    utf8(plaintext),
  );
  return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
}

export async function decryptString(
  secret: string,
  stored: string,
  context: string,
): Promise<string> {
  const [version, iv, ct] = stored.split(".");
  if (version !== "v1" || !iv || !ct) throw new Error("unknown ciphertext format");
  const key = await importSecretKey(secret);
  const pt = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: utf8(context) },
    key,
    fromBase64Url(ct),
  );
  return new TextDecoder().decode(pt);
}
