/** `GET /healthz`: 200 once the platform can serve (D1 answered within the last 10 s). */
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "./http/router";
import { ApiError } from "./http/problem";
import { problemWith } from "./http/schemas";

export const healthRoutes = createRouter();

let checkedAt = -Infinity;

const route = createRoute({
  method: "get",
  path: "/healthz",
  security: [], // public: no credential
  tags: ["Health"],
  summary: "Liveness and readiness",
  responses: {
    200: {
      description: "Ready",
      content: {
        "application/json": { schema: z.object({ status: z.literal("ok") }).openapi("Health") },
      },
    },
    503: problemWith("Not ready: the database is not reachable"),
  },
});

healthRoutes.openapi(route, async (c) => {
  const now = Date.now();
  if (now - checkedAt > 10_000) {
    try {
      await c.env.DB.prepare("SELECT 1").first();
      checkedAt = now;
    } catch (err) {
      throw new ApiError({
        status: 503,
        type: "unavailable",
        title: "Service unavailable",
        detail: "The database is not reachable.",
        internal: String(err),
      });
    }
  }
  return c.json({ status: "ok" as const }, 200);
});
