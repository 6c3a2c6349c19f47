/**
 * Builds the app: global middleware, one router per domain, the OpenAPI document, the web UI, and
 * the not-found and error handlers. The Worker's exports are in index.ts.
 */
import { revocationRoutes } from "./catalog/revocation.routes";
import { signingKeyRoutes, signingOperatorRoutes } from "./catalog/signing-keys.routes";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { createRouter } from "./platform/http/router";
import { apiKeyRoutes } from "./access/routes/api-keys.routes";
import { authenticate } from "./access/authenticate";
import { healthRoutes } from "./platform/health.routes";
import { accessLog, notFoundHandler, onError, requestId } from "./platform/http/middleware";
import { cacheControl } from "./platform/http/cache";
import { identityRoutes } from "./access/routes/signup-me.routes";
import { memberRoutes } from "./access/routes/members.routes";
import { oauthRoutes } from "./access/routes/oauth.routes";
import { accessOperatorRoutes } from "./access/routes/operator.routes";
import { documentProxy, proxyRoutes } from "./gateway/proxy.routes";
import { installationRoutes } from "./installations/installations.routes";
import { upgradeRoutes } from "./installations/upgrade.routes";
import { publishRoutes } from "./catalog/publish.routes";
import { listingRoutes } from "./catalog/listings.routes";
import { reviewRoutes, reviewOperatorRoutes } from "./catalog/review.routes";
import { ratingsOperatorRoutes, ratingRoutes } from "./catalog/ratings.routes";
import { mountOpenApi } from "./portal/openapi";
import { rateLimit } from "./access/ratelimit/middleware";
import { exceptProviderDeliveries } from "./access/ratelimit/provider-webhooks";
import { purchaseRoutes } from "./revenue/purchases.routes";
import { payoutRoutes, revenueOperatorRoutes } from "./revenue/payouts.routes";
import { analyticsRoutes } from "./revenue/analytics/analytics.routes";
import { paymentsWebhookRoutes } from "./revenue/webhook.routes";
import { connectionRoutes } from "./integrations/connections.routes";
import { providerWebhookRoutes } from "./integrations/webhooks.routes";
import { zapierRoutes } from "./integrations/zapier.routes";
import { syncRoutes } from "./integrations/sync.routes";
import { hostBridgeRoutes } from "./integrations/host-bridge.routes";
import { hostLogRoutes } from "./runtime/host-logs.routes";
import { tutorialRoutes } from "./portal/tutorials.routes";
import { webhookEndpointRoutes } from "./events/endpoints.routes";
import { htmlNotFound, wantsHtml, webRouter } from "./web/web.routes";
import { operatorOnly } from "./access/principal";

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

app.route("/", healthRoutes);
app.route("/", oauthRoutes);
app.route("/", identityRoutes);
app.route("/", memberRoutes);
app.route("/v1/api-keys", apiKeyRoutes);
app.route("/", publishRoutes);
app.route("/", listingRoutes);
app.route("/", reviewRoutes);
app.route("/", signingKeyRoutes);
app.route("/", revocationRoutes);
app.route("/", ratingRoutes);
app.route("/v1/installations", installationRoutes);
app.route("/v1/installations", upgradeRoutes);
app.route("/", purchaseRoutes);
app.route("/", payoutRoutes);
app.route("/v1/analytics", analyticsRoutes);
app.route("/", paymentsWebhookRoutes);
app.route("/v1/connections", connectionRoutes);
app.route("/v1/webhooks", providerWebhookRoutes);
app.route("/v1/zapier", zapierRoutes);
app.route("/v1/syncs", syncRoutes);
app.route("/v1/webhook-endpoints", webhookEndpointRoutes);
app.route("/", hostBridgeRoutes);
app.route("/", hostLogRoutes);
app.route("/v1/portal/tutorials", tutorialRoutes);

// The operator's routes, one router under one prefix, assembled from the domains that own them.
const operatorRoutes = createRouter();
operatorRoutes.use("*", operatorOnly());
operatorRoutes.route("/", accessOperatorRoutes);
operatorRoutes.route("/", reviewOperatorRoutes);
operatorRoutes.route("/", signingOperatorRoutes);
operatorRoutes.route("/", ratingsOperatorRoutes);
operatorRoutes.route("/", revenueOperatorRoutes);
app.route("/v1/operator", operatorRoutes);
app.route("/", proxyRoutes);
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
