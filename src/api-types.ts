/**
 * The JSON bodies the platform API answers, as TypeScript types inferred from the very zod schemas
 * its routes validate with and document in /openapi.json. The web UI (src/web/) is a client of the
 * API and types the data of its pages from here, so a page that reads a field the API does not
 * send (a category's `label` where the API says `name`) does not compile
 * (test/integration/web-types.test.ts). Type-only: nothing here exists at run time. Like
 * src/app.ts it sits above the domains; it names their route definitions and schemas only.
 */
import type { z } from "@hono/zod-openapi";
import type { Me } from "./access/schemas";
import type { categoriesRoute, getListingRoute, searchRoute } from "./catalog/listings.routes";
import type { ratingEligibilityRoute, ratingsListRoute } from "./catalog/ratings.routes";
import type {
  Purchase,
  Subscription,
  getMethodRoute,
  listPurchasesRoute,
  subsRoute,
} from "./revenue/purchases.routes";
import type { Report } from "./revenue/analytics/analytics.routes";
import type { list as installationsRoute } from "./installations/installations.routes";
import type { create as createKeyRoute, list as keysRoute } from "./access/routes/api-keys.routes";
import type { signup as signupRoute } from "./access/routes/signup-me.routes";
import type { list as connectionsRoute } from "./integrations/connections.routes";
import type { balance, listRoute as payoutsRoute, statement } from "./revenue/payouts.routes";
import type { queue } from "./catalog/review.routes";
import type { getPlugin } from "./catalog/publish.routes";
import type { getOne as tutorialRoute, list as tutorialsRoute } from "./portal/tutorials.routes";

/** The JSON body of a route's `status` answer, from the schema its definition declares. */
export type JsonOf<R, S extends number = 200> = R extends {
  responses: { [K in S]: { content: { "application/json": { schema: infer Z } } } };
}
  ? Z extends z.ZodType
    ? z.output<Z>
    : never
  : never;

export type MeBody = z.output<typeof Me>;
export type CategoriesBody = JsonOf<typeof categoriesRoute>;
export type Category = CategoriesBody["categories"][number];
export type ListingPageBody = JsonOf<typeof searchRoute>;
export type ListingSummaryBody = ListingPageBody["listings"][number];
export type ListingBody = JsonOf<typeof getListingRoute>;
export type RatingsBody = JsonOf<typeof ratingsListRoute>;
export type ReviewBody = RatingsBody["reviews"][number];
export type RatingEligibilityBody = JsonOf<typeof ratingEligibilityRoute>;
export type PurchaseBody = z.output<typeof Purchase>;
export type PurchasesBody = JsonOf<typeof listPurchasesRoute>;
export type SubscriptionBody = z.output<typeof Subscription>;
export type SubscriptionsBody = JsonOf<typeof subsRoute>;
export type PaymentMethodBody = JsonOf<typeof getMethodRoute>;
export type ReportBody = z.output<typeof Report>;
export type InstallationsBody = JsonOf<typeof installationsRoute>;
export type InstallationBody = InstallationsBody["installations"][number];
export type ApiKeysBody = JsonOf<typeof keysRoute>;
export type CreatedKeyBody = JsonOf<typeof createKeyRoute, 201>;
export type SignupBody = JsonOf<typeof signupRoute, 201>;
export type ConnectionsBody = JsonOf<typeof connectionsRoute>;
export type BalanceBody = JsonOf<typeof balance>;
export type PayoutsBody = JsonOf<typeof payoutsRoute>;
export type PayoutStatementBody = JsonOf<typeof statement>;
export type ReviewQueueBody = JsonOf<typeof queue>;
export type PluginBody = JsonOf<typeof getPlugin>;
export type TutorialsBody = JsonOf<typeof tutorialsRoute>;
export type TutorialBody = JsonOf<typeof tutorialRoute>;
