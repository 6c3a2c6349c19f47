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
