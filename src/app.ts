/**
 * Builds the app: global middleware, one router per domain, the OpenAPI document, the web UI, and
 * the not-found and error handlers. The Worker's exports are in index.ts.
 */
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { createRouter } from "./platform/http/router";
import { keys } from "./access/routes/api-keys.routes";
import { authenticate } from "./access/authenticate";
import { health } from "./platform/health.routes";
import { accessLog, notFoundHandler, onError, requestId } from "./platform/http/middleware";
import { cacheControl } from "./platform/http/cache";
import { identity } from "./access/routes/signup-me.routes";
import { members } from "./access/routes/members.routes";
import { oauth } from "./access/routes/oauth.routes";
import { accessOperatorRoutes } from "./access/routes/operator.routes";
import { documentProxy, proxy } from "./gateway/proxy.routes";
import { installationsRouter } from "./installations/installations.routes";
import { upgradeRouter } from "./installations/upgrade.routes";
import { pluginsRouter } from "./catalog/publish.routes";
import { marketplace } from "./catalog/listings.routes";
import { review, reviewOperatorRoutes } from "./catalog/review.routes";
import { ratingsOperatorRoutes, ratingsRouter } from "./catalog/ratings.routes";
import { mountOpenApi } from "./portal/openapi";
import { rateLimit } from "./access/ratelimit/middleware";
import { exceptProviderDeliveries } from "./access/ratelimit/provider-webhooks";
import { revenueRouter } from "./revenue/purchases.routes";
import { payoutRouter, revenueOperatorRoutes } from "./revenue/payouts.routes";
import { analyticsRouter } from "./revenue/analytics/analytics.routes";
import { webhookRouter } from "./revenue/webhook.routes";
import { connectionsRouter } from "./integrations/connections.routes";
import { webhooksRouter } from "./integrations/webhooks.routes";
import { zapierRouter } from "./integrations/zapier.routes";
import { syncRouter } from "./integrations/sync.routes";
import { hostBridge } from "./integrations/host-bridge.routes";
import { tutorialsRouter } from "./portal/tutorials.routes";
import { htmlNotFound, wantsHtml, webRouter } from "./web/web.routes";

const app = createRouter();

app.use("*", requestId());
app.use("*", accessLog());
app.use(
  "*",
  cors({
    origin: (origin, c) => {
      const allowed = (c.env.ATOLL_CORS_ORIGINS as string).split(",").map((s) => s.trim());
      return allowed.includes("*") || allowed.includes(origin) ? origin : null;
    },
    allowHeaders: ["Authorization", "X-API-Key", "Content-Type", "X-Request-Id"],
    exposeHeaders: ["X-Request-Id", "RateLimit", "RateLimit-Policy", "Retry-After"],
    maxAge: 600,
  }),
);
app.use(
  "*",
  secureHeaders({ contentSecurityPolicy: undefined, crossOriginResourcePolicy: "cross-origin" }),
);
app.use("/v1/*", cacheControl({ defaultNoStore: true }));
app.use("/p/*", cacheControl({ defaultNoStore: false }));
app.use("/apps/*", cacheControl({ defaultNoStore: false }));
app.use("/v1/*", authenticate());
// Provider deliveries have their own classes, taken after the signature check (src/access/ratelimit/provider-webhooks.ts).
app.use("/v1/*", exceptProviderDeliveries(rateLimit("api")));
app.use("/p/*", authenticate());
app.use("/p/*", rateLimit("plugin"));
app.use("/apps/*", authenticate());
app.use("/apps/*", rateLimit("plugin"));
app.use("/oauth/token", rateLimit("api"));

app.route("/", health);
app.route("/", oauth);
app.route("/", identity);
app.route("/", members);
app.route("/v1/api-keys", keys);
app.route("/", pluginsRouter);
app.route("/", marketplace);
app.route("/", review);
app.route("/", ratingsRouter);
app.route("/v1/installations", installationsRouter);
app.route("/v1/installations", upgradeRouter);
app.route("/", revenueRouter);
app.route("/", payoutRouter);
app.route("/v1/analytics", analyticsRouter);
app.route("/", webhookRouter);
app.route("/v1/connections", connectionsRouter);
app.route("/v1/webhooks", webhooksRouter);
app.route("/v1/zapier", zapierRouter);
app.route("/v1/syncs", syncRouter);
app.route("/", hostBridge);
app.route("/v1/portal/tutorials", tutorialsRouter);

// The operator's routes, one router under one prefix, assembled from the domains that own them.
const operatorRoutes = createRouter();
operatorRoutes.route("/", accessOperatorRoutes);
operatorRoutes.route("/", reviewOperatorRoutes);
operatorRoutes.route("/", ratingsOperatorRoutes);
operatorRoutes.route("/", revenueOperatorRoutes);
app.route("/v1/operator", operatorRoutes);
app.route("/", proxy);
documentProxy(app.openAPIRegistry);
mountOpenApi(app);

// The web UI: pages are clients of the API above, called in-process.
app.route(
  "/",
  webRouter((req, env, ctx) => app.fetch(req, env, ctx)),
);

const apiNotFound = notFoundHandler(() => app.routes);
app.notFound((c) => (wantsHtml(c) ? htmlNotFound(c) : apiNotFound(c)));
app.onError(onError);

export { app };
