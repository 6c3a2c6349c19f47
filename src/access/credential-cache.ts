/**
 * The credential half of the gateway's per-isolate caches (plugin specs and app endpoints live in
 * runtime/resolve.ts, entitlements in revenue/entitlements.ts). Keyed by the D1 binding object so
 * that each environment (and each isolated test file) has its own.
 *
 * - API keys: SHA-256 → record, 30 s; unknown hashes are remembered for 10 s. The same records by
 *   key id (`id:…`) serve access tokens, so a token gets its key's revocation, expiry and its
 *   holder's *current* role, with the same invalidation.
 * - Organizations' plans and slugs (for JWT and external callers): 60 s.
 * - Verified access tokens: 60 s (and never past their `exp`).
 * - Signing keys: see KeyRing. Rate-limit leases: see LeaseLimiter.
 *
 * A change made in this isolate (revoking a key, changing a role or plan) clears the entries it
 * affects at once; other isolates see it within the TTL, and revocation within one lease
 * (≤ 1 s) because the credential's Durable Object refuses leases for a revoked key.
 */
import type { KeyRecord } from "./api-keys";
import { LeaseLimiter } from "./ratelimit/lease";
import type { AcquireRequest, RateLimiter } from "./ratelimit/durable-object";
import { KeyRing } from "./tokens/keyring";
import type { Plan } from "../platform/db/schema";
import type { AccessClaims } from "./tokens/access-token";
import { TtlCache } from "../platform/cache";

export class IsolateState {
  readonly keys = new TtlCache<KeyRecord>(30_000);
  readonly unknownKeys = new TtlCache<true>(10_000);
  readonly orgs = new TtlCache<{ id: string; slug: string; plan: Plan }>(60_000);
  /**
   * Access tokens already verified, keyed by the whole token (a token that differs in any byte is
   * verified afresh). Expiry is re-checked on every hit; revocation is the rate limiter's job.
   */
  readonly verifiedTokens = new TtlCache<AccessClaims>(60_000, 10_000);
  readonly ring = new KeyRing();
  /** Small records read on warm paths (`/v1/me`'s user and organization), 60 s. */
  private readonly records = new TtlCache<unknown>(60_000);
  readonly limiter: LeaseLimiter;

  constructor(ns: DurableObjectNamespace<RateLimiter>) {
    // Stubs are made per call: a stub belongs to the request that created it.
    this.limiter = new LeaseLimiter((subject: string, req: AcquireRequest) =>
      ns.get(ns.idFromName(subject)).acquire(req),
    );
  }

  /** Returns a cached value or loads (and caches) it; null results are not cached. */
  async cached<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const hit = this.records.get(key) as T | undefined;
    if (hit !== undefined) return hit;
    const value = await load();
    if (value !== null) this.records.set(key, value);
    return value;
  }

  /** Forgets what this isolate knows about a key (revoked) or a user (role changed, removed). */
  forgetKey(keyId: string): void {
    this.keys.deleteWhere((r) => r.keyId === keyId);
    this.limiter.markRevoked(keyId);
  }

  forgetUser(orgId: string, userId: string): void {
    this.keys.deleteWhere((r) => r.orgId === orgId && r.userId === userId);
  }

  /** After a key rotation in this isolate: forget keys and every token verified with them. */
  forgetSigningKeys(): void {
    this.ring.invalidate();
    this.verifiedTokens.clear();
  }

  forgetOrg(orgId: string): void {
    this.keys.deleteWhere((r) => r.orgId === orgId);
    this.orgs.deleteWhere((o) => o.id === orgId);
    this.records.deleteWhere((_v, k) => k === `org:${orgId}`);
  }
}

const states = new WeakMap<D1Database, IsolateState>();

export function isolateState(env: Env): IsolateState {
  let state = states.get(env.DB);
  if (!state) {
    state = new IsolateState(env.RATE_LIMITER);
    states.set(env.DB, state);
  }
  return state;
}
