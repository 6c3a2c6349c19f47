/**
 * Secrets that are set only sometimes. `wrangler types` types the required ones (`[secrets]` in
 * wrangler.toml); these are declared here, optional, so code must handle their absence.
 */
interface Env {
  /** During a vault key rotation: the previous ATOLL_SECRET_KEY (`wrangler secret put`). */
  ATOLL_VAULT_PREVIOUS_KEY?: string;
}
