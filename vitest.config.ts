import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { defineConfig } from "vitest/config";
import { outboundGuard } from "./test/outbound-guard.ts";

/** A free loopback port, chosen once per run (the Stripe stand-in of the workers tests). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Two projects:
 * - `workers`: unit and integration tests inside workerd (real D1, Durable Objects, R2), storage
 *   isolated per test file, migrations applied by test/setup.ts;
 * - `e2e`: Node tests that start the real local platform (wrangler dev) and drive it over HTTP.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  process.env.ATOLL_TEST_STRIPE_PORT ??= String(await freePort());
  const stripe = `http://127.0.0.1:${process.env.ATOLL_TEST_STRIPE_PORT}`;
  process.env.ATOLL_TEST_MAIL_PORT ??= String(await freePort());
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              // src/index.ts's exports and the dispatch stand-in's outbound entrypoints.
              main: "./test/worker.ts",
              remoteBindings: false,
              miniflare: {
                // Outbound network is denied except to the stand-ins the global setup names.
                outboundService: outboundGuard,
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ATOLL_CONTRACT_CHECK: process.env.ATOLL_CONTRACT_CHECK ?? "enforce",
                  FUZZ_SEED: process.env.FUZZ_SEED ?? "",
                  ATOLL_SECRET_KEY: "dGVzdC1vbmx5LXNlY3JldC1rZXktMzItYnl0ZXMtb2s",
                  ATOLL_OPERATOR_KEY: "test-operator-key-0123456789",
                  ATOLL_REQUEST_LOG: "off",
                  // Client addresses as in production: the harness sets CF-Connecting-IP on every
                  // request, one address per test (test/helpers.ts, src/access/ratelimit/client-ip.ts).
                  ATOLL_ENV: "test",
                  ATOLL_METER_FLUSH_MS: "200",
                  // The production rating rule (the local demo's wrangler.toml relaxes it).
                  ATOLL_RATING_MIN_HOURS: "24",
                  ATOLL_RATING_MIN_CALLS: "3",
                  ATOLL_PAYMENTS_WEBHOOK_SECRET: "whsec_test_only_secret",
                  // Random per run, like npm start's: the gateway↔host secret is never a constant.
                  ATOLL_HOST_SECRET: randomBytes(32).toString("base64url"),
                  LEDGER_PROPERTY_OPERATIONS: process.env.LEDGER_PROPERTY_OPERATIONS ?? "3000",
                  ATOLL_EGRESS_OVERRIDES: JSON.stringify({ "api.stripe.com": stripe }),
                  ATOLL_MAIL_URL: `http://127.0.0.1:${process.env.ATOLL_TEST_MAIL_PORT}`,
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
            setupFiles: ["./test/setup.ts"],
            globalSetup: ["./test/workers-global-setup.ts"],
          },
        },
        {
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            globalSetup: ["./test/e2e/global-setup.ts"],
            setupFiles: ["./test/e2e/contract-setup.ts"],
            testTimeout: 30_000,
            hookTimeout: 60_000,
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
