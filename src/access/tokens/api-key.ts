/**
 * API key format (pure; no I/O). A key looks like
 *
 *     atk_<32 random base62 chars><6-char base62 CRC32 of everything before it>
 *
 * - the `atk_` prefix makes a leaked key recognisable to secret scanners;
 * - the checksum lets the gateway refuse a mistyped or made-up key without a lookup;
 * - 32 base62 characters carry ~190 bits of entropy, so a plain SHA-256 is a safe storage hash.
 */
import { crc32String } from "../../contract/crc32";
import { base62, randomBase62 } from "../../platform/crypto/encoding";
import type { Result } from "../../contract/result";

export const API_KEY_PREFIX = "atk_";
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
export const API_KEY_LENGTH = API_KEY_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
/** How many leading characters are stored and shown so that a user can tell keys apart. */
export const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;

/** CRC-32 of the key's body (re-exported for tests). */
export const crc32 = crc32String;

function checksum(body: string): string {
  return base62(crc32(body), CHECKSUM_LENGTH);
}

/** Generates a new API key. */
export function generateApiKey(): string {
  const body = API_KEY_PREFIX + randomBase62(RANDOM_LENGTH);
  return body + checksum(body);
}

export type ApiKeyCheck = Result<{ displayPrefix: string }, { reason: "format" | "checksum" }>;

/** Checks the format and checksum of a presented key; no lookup, no secret comparison. */
export function checkApiKeyFormat(key: string): ApiKeyCheck {
  if (
    key.length !== API_KEY_LENGTH ||
    !key.startsWith(API_KEY_PREFIX) ||
    !/^atk_[0-9A-Za-z]+$/.test(key)
  ) {
    return { ok: false, reason: "format" };
  }
  const body = key.slice(0, -CHECKSUM_LENGTH);
  if (checksum(body) !== key.slice(-CHECKSUM_LENGTH)) return { ok: false, reason: "checksum" };
  return { ok: true, displayPrefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/** True when the value looks like an Atoll API key rather than a JWT (used to route Bearer values). */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX);
}
