/**
 * The platform's JWT signing keys (EdDSA / Ed25519), stored in D1 with the private JWK encrypted
 * under ATOLL_SECRET_KEY. One key is `current` (it signs); `previous` keys still verify, so tokens
 * signed before a rotation stay valid until they expire. See docs/api.md "Key rotation".
 */
import { eq, inArray } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import { decryptString, encryptString } from "../../platform/crypto/aead";
import { randomBase62 } from "../../platform/crypto/encoding";
import { signingKeys, type SigningKeyRow } from "../../platform/db/schema";

export const SIGNING_ALG = "EdDSA";
/** Access tokens live this long; a `previous` key is kept at least this long after demotion. */
export const ACCESS_TOKEN_TTL_SEC = 900;

export interface PublicKeyEntry {
  kid: string;
  status: SigningKeyRow["status"];
  jwk: JWK;
  key: CryptoKey;
}

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
}

async function newKeyRow(secret: string, now: number): Promise<typeof signingKeys.$inferInsert> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, {
    crv: "Ed25519",
    extractable: true,
  });
  const kid = `k${now.toString(36)}${randomBase62(8)}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: "sig" };
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg: SIGNING_ALG,
    publicJwk: JSON.stringify(publicJwk),
    privateJwkEnc: await encryptString(secret, JSON.stringify(privateJwk), `signing-key:${kid}`),
    status: "current",
    createdAt: now,
  };
}

/** Creates the first signing key if there is none. Safe under races: the partial unique index admits one. */
export async function ensureCurrentKey(
  db: DrizzleD1Database,
  secret: string,
  now = Date.now(),
): Promise<void> {
  const existing = await db
    .select({ kid: signingKeys.kid })
    .from(signingKeys)
    .where(eq(signingKeys.status, "current"))
    .limit(1);
  if (existing.length > 0) return;
  const row = await newKeyRow(secret, now);
  await db.insert(signingKeys).values(row).onConflictDoNothing();
}

/** Loads the current signing key (decrypting its private half). */
export async function loadCurrentKey(
  db: DrizzleD1Database,
  secret: string,
): Promise<SigningKey | null> {
  const [row] = await db
    .select()
    .from(signingKeys)
    .where(eq(signingKeys.status, "current"))
    .limit(1);
  if (!row) return null;
  const jwk = JSON.parse(
    await decryptString(secret, row.privateJwkEnc, `signing-key:${row.kid}`),
  ) as JWK;
  return { kid: row.kid, alg: row.alg, privateKey: (await importJWK(jwk, row.alg)) as CryptoKey };
}

/** The keys that verify: `current` and `previous`, with their public JWKs. */
export async function loadVerificationKeys(db: DrizzleD1Database): Promise<PublicKeyEntry[]> {
  const rows = await db
    .select()
    .from(signingKeys)
    .where(inArray(signingKeys.status, ["current", "previous"]));
  return Promise.all(
    rows.map(async (row) => {
      const jwk = JSON.parse(row.publicJwk) as JWK;
      return {
        kid: row.kid,
        status: row.status,
        jwk,
        key: (await importJWK(jwk, row.alg)) as CryptoKey,
      };
    }),
  );
}

export type RotationResult =
  | { ok: true; kid: string; previous: string | null }
  | { ok: false; reason: "too-soon"; retryAfterSec: number };

/**
 * Rotates: `previous` keys demoted more than one token lifetime ago are retired, the current key
 * becomes `previous`, and a new key becomes `current` — in one D1 batch. A rotation that would
 * retire a key whose tokens may still be alive is refused unless `force` is set.
 */
export async function rotateSigningKey(
  db: DrizzleD1Database,
  secret: string,
  opts: { now?: number; force?: boolean } = {},
): Promise<RotationResult> {
  const now = opts.now ?? Date.now();
  const cutoff = now - ACCESS_TOKEN_TTL_SEC * 1000;
  const previous = await db.select().from(signingKeys).where(eq(signingKeys.status, "previous"));
  const young = previous.filter((k) => (k.demotedAt ?? 0) > cutoff);
  if (young.length > 0 && !opts.force) {
    const newest = Math.max(...young.map((k) => k.demotedAt ?? 0));
    return { ok: false, reason: "too-soon", retryAfterSec: Math.ceil((newest - cutoff) / 1000) };
  }
  const [current] = await db
    .select({ kid: signingKeys.kid })
    .from(signingKeys)
    .where(eq(signingKeys.status, "current"));
  const row = await newKeyRow(secret, now);
  await db.batch([
    db.update(signingKeys).set({ status: "retired" }).where(eq(signingKeys.status, "previous")),
    db
      .update(signingKeys)
      .set({ status: "previous", demotedAt: now })
      .where(eq(signingKeys.status, "current")),
    db.insert(signingKeys).values(row),
  ]);
  return { ok: true, kid: row.kid, previous: current?.kid ?? null };
}
