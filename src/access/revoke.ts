/**
 * Makes revocation take effect everywhere: this isolate forgets the key at once, and the key's
 * Durable Object refuses further leases, so other isolates stop admitting it (and the JWTs minted
 * from it) within one lease lifetime. D1 stays the source of truth.
 */
import { isolateState } from "./credential-cache";

export async function revokeCredentials(env: Env, keyIds: readonly string[]): Promise<void> {
  const state = isolateState(env);
  for (const id of keyIds) state.forgetKey(id);
  await Promise.all(
    keyIds.map((id) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(id)).revoke()),
  );
}
