import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** `report`: the drift check warns (CONTRACT-DRIFT …) instead of failing the test. */
      ATOLL_CONTRACT_CHECK?: string;
      /** test/integration/fuzz-openapi.test.ts's seed (a fixed one when empty). */
      FUZZ_SEED?: string;
    }
  }
}
