/**
 * The isolate's in-memory copy of the signing keys: verification never reads D1 when warm.
 * An unknown `kid` (a key rotated in by another isolate) triggers at most one reload per
 * RELOAD_COOLDOWN_MS, so a flood of tokens with made-up kids cannot hammer D1.
 */
import type { CryptoKey, JWK } from "jose";
import type { Db } from "../../platform/db/client";
import {
  ensureCurrentKey,
  loadCurrentKey,
  loadVerificationKeys,
  type SigningKey,
} from "./signing-keys";

const TTL_MS = 5 * 60_000;
const RELOAD_COOLDOWN_MS = 5_000;

export class KeyRing {
  private keys = new Map<string, { key: CryptoKey; jwk: JWK }>();
  private loadedAt = -Infinity;
  private lastReload = -Infinity;
  private signing: SigningKey | null = null;
  private signingLoadedAt = -Infinity;
  private loading: Promise<void> | null = null;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Resolves a verification key by kid (null when unknown even after a reload). */
  async resolve(db: Db, kid: string | undefined): Promise<CryptoKey | null> {
    if (!kid) return null;
    const now = this.clock();
    if (
      now - this.loadedAt > TTL_MS ||
      (!this.keys.has(kid) && now - this.lastReload > RELOAD_COOLDOWN_MS)
    ) {
      await this.reload(db);
    }
    return this.keys.get(kid)?.key ?? null;
  }

  /** The public keys, for `/.well-known/jwks.json`. */
  async publicJwks(db: Db): Promise<JWK[]> {
    if (this.clock() - this.loadedAt > 60_000) await this.reload(db);
    return [...this.keys.values()].map((k) => k.jwk);
  }

  /** The key that signs new tokens (created on first use). */
  async signingKey(db: Db, secret: string): Promise<SigningKey> {
    if (!this.signing || this.clock() - this.signingLoadedAt > TTL_MS) {
      let key = await loadCurrentKey(db, secret);
      if (!key) {
        await ensureCurrentKey(db, secret);
        key = await loadCurrentKey(db, secret);
      }
      if (!key) throw new Error("no current signing key after ensureCurrentKey");
      this.signing = key;
      this.signingLoadedAt = this.clock();
      if (!this.keys.has(key.kid)) await this.reload(db);
    }
    return this.signing;
  }

  /** Forgets everything (after a rotation in this isolate). */
  invalidate(): void {
    this.keys.clear();
    this.loadedAt = -Infinity;
    this.lastReload = -Infinity;
    this.signing = null;
    this.signingLoadedAt = -Infinity;
  }

  private reload(db: Db): Promise<void> {
    this.loading ??= (async () => {
      try {
        this.lastReload = this.clock();
        const entries = await loadVerificationKeys(db);
        this.keys = new Map(entries.map((e) => [e.kid, { key: e.key, jwk: e.jwk }]));
        this.loadedAt = this.clock();
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }
}
