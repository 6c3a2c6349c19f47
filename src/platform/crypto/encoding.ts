/** Byte/text encodings used by tokens and keys. Pure, no I/O. */

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text) as Uint8Array<ArrayBuffer>;
}

export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const BASE62_CODES = Uint8Array.from(BASE62, (ch) => ch.charCodeAt(0));

/** Uniformly random base62 string (rejection sampling, no modulo bias). */
export function randomBase62(length: number): string {
  const codes = new Uint8Array(length);
  let n = 0;
  while (n < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(Math.min(length * 2, 65_536)))) {
      if (b >= 248) continue;
      codes[n++] = BASE62_CODES[b % 62] as number;
      if (n === length) break;
    }
  }
  return String.fromCharCode(...codes);
}

/** Encodes a non-negative integer in base62, left-padded to `width`. */
export function base62(value: number, width: number): string {
  let out = "";
  let v = value;
  do {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  } while (v > 0);
  return out.padStart(width, "0");
}

/** A prefixed, random identifier, e.g. `usr_3fK9…`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(20)}`;
}
