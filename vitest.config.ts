import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Two projects:
 * - `workers`: unit and integration tests inside workerd (real D1, Durable Objects, R2), storage
 *   isolated per test file, migrations applied by test/setup.ts;
 * - `e2e`: Node tests that start the real local platform (wrangler dev) and drive it over HTTP.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              remoteBindings: false,
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ATOLL_SECRET_KEY: "dGVzdC1vbmx5LXNlY3JldC1rZXktMzItYnl0ZXMtb2s",
                  ATOLL_OPERATOR_KEY: "test-operator-key-0123456789",
                  ATOLL_REQUEST_LOG: "off",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
            setupFiles: ["./test/setup.ts"],
          },
        },
        {
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            globalSetup: ["./test/e2e/global-setup.ts"],
            testTimeout: 30_000,
            hookTimeout: 60_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
