import { defineConfig } from "drizzle-kit";

/** `npm run db:generate` writes numbered SQL migrations that `wrangler d1 migrations apply` runs. */
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/platform/db/schema.ts",
  out: "./migrations",
});
