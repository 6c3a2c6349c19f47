/**
 * The web UI's page data is typed from the API's own schemas (src/api-types.ts): a page that reads
 * a field the API does not send fails `tsc`. The `@ts-expect-error` lines below are the proof —
 * were `label` (the storefront's old mistake) a field of a category, tsc would report the
 * directive as unused and fail.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type * as Api from "../../src/api-types";
import type { Category, CategoriesBody, ListingSummaryBody } from "../../src/api-types";
import { type Storefront } from "../../src/web/pages";
import { call } from "../helpers";

type StorefrontProps = Parameters<typeof Storefront>[0];

describe("the web UI's data types come from the API's schemas", () => {
  it("a category has the API's fields, and no label", async () => {
    expectTypeOf<Category>().toEqualTypeOf<{ id: string; name: string; listings: number }>();
    expectTypeOf<StorefrontProps["categories"]>().toEqualTypeOf<Category[]>();
    expectTypeOf<StorefrontProps["listings"]>().toEqualTypeOf<ListingSummaryBody[]>();
    const body = (await (await call("/v1/marketplace/categories")).json()) as CategoriesBody;
    const first = body.categories[0] as Category;
    expect(typeof first.name).toBe("string");
    // @ts-expect-error the API names a category's text `name`; a page reading `label` does not compile
    expect(first.label).toBeUndefined();
    // A page cannot hand the storefront categories of another shape.
    const wrong = [{ id: "analytics", label: "Analytics", listings: 1 }];
    // @ts-expect-error `label` in place of `name`
    const props: StorefrontProps["categories"] = wrong;
    expect(props).toHaveLength(1);
  });

  it("every body the pages use resolves from its route's schema (none is never)", () => {
    expectTypeOf<Api.ListingPageBody>().not.toBeNever();
    expectTypeOf<Api.ListingBody>().not.toBeNever();
    expectTypeOf<Api.RatingsBody>().not.toBeNever();
    expectTypeOf<Api.RatingEligibilityBody>().not.toBeNever();
    expectTypeOf<Api.PurchasesBody>().not.toBeNever();
    expectTypeOf<Api.SubscriptionsBody>().not.toBeNever();
    expectTypeOf<Api.PaymentMethodBody>().not.toBeNever();
    expectTypeOf<Api.ReportBody>().not.toBeNever();
    expectTypeOf<Api.InstallationsBody>().not.toBeNever();
    expectTypeOf<Api.ApiKeysBody>().not.toBeNever();
    expectTypeOf<Api.CreatedKeyBody>().not.toBeNever();
    expectTypeOf<Api.SignupBody>().not.toBeNever();
    expectTypeOf<Api.ConnectionsBody>().not.toBeNever();
    expectTypeOf<Api.BalanceBody>().not.toBeNever();
    expectTypeOf<Api.PayoutsBody>().not.toBeNever();
    expectTypeOf<Api.PayoutStatementBody>().not.toBeNever();
    expectTypeOf<Api.ReviewQueueBody>().not.toBeNever();
    expectTypeOf<Api.PluginBody>().not.toBeNever();
    expectTypeOf<Api.TutorialsBody>().not.toBeNever();
    expectTypeOf<Api.TutorialBody>().not.toBeNever();
    // A status the route does not declare gives never: JsonOf reads the declared answers only.
    expectTypeOf<Api.JsonOf<{ responses: { 200: { description: string } } }>>().toBeNever();
  });
});
