/**
 * The web UI, server-rendered by the Worker (Hono JSX): marketplace, listing pages, sign-in,
 * the developer portal. Pages are clients of the platform API (called in-process with the
 * session's key), so every rule the API enforces applies here too. Forms work without
 * JavaScript; state-changing ones carry the session's CSRF token. CSP allows nothing inline.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../platform/http/router";
import { renderMarkdown } from "../portal/markdown";
import { callApi, problemText, type AppFetch } from "./api";
import type { Viewer } from "./layout";
import type {
  CategoriesBody,
  ListingBody,
  ListingPageBody,
  MeBody,
  PaymentMethodBody,
  PurchasesBody,
  RatingEligibilityBody,
  RatingsBody,
  SubscriptionBody,
  SubscriptionsBody,
  InstallationsBody,
  ApiKeysBody,
  ConnectionsBody,
  CreatedKeyBody,
  SignupBody,
  BalanceBody,
  PayoutsBody,
  PluginBody,
  PayoutStatementBody,
  ReviewQueueBody,
  TutorialsBody,
  TutorialBody,
} from "../api-types";
import { randomBase62 } from "../platform/crypto/encoding";
import { FAVICON_SVG } from "./favicon";
import {
  BuyConfirmPage,
  BuyPendingPage,
  ListingPage,
  NotFoundPage,
  Portal,
  SignIn,
  Storefront,
  TutorialPage,
  type BuyState,
  type ListingFormValues,
} from "./pages";
import { createSession, csrfOk, endSession, readSession, type Session } from "./session";
import { formToken, formTokenOk } from "./form-token";
import { noticeText, withNotice } from "./notices";
import { CSS } from "./styles";
import {
  OperatorPage,
  PublisherDashboard,
  PurchasesPage,
  SignUp,
  StatementPage,
  TenantDashboard,
  Welcome,
  type Report,
} from "./dashboards";

export const WEB_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/** Paths the UI serves (the OpenAPI coverage test leaves them out: they are pages, not API). */
export const WEB_PATHS = [
  "/",
  "/assets/app.css",
  "/favicon.svg",
  "/favicon.ico",
  "/signin",
  "/signout",
  "/signup",
  "/portal",
  "/portal/tutorials/:slug",
  "/listings/:scope/:name",
  "/listings/:scope/:name/install",
  "/listings/:scope/:name/rate",
  "/listings/:scope/:name/buy",
  "/listings/:scope/:name/buy/confirm",
  "/listings/:scope/:name/reviews/:id/reply",
  "/dashboard",
  "/dashboard/installations/:id/:action{uninstall|upgrade}",
  "/dashboard/keys",
  "/dashboard/keys/:id/revoke",
  "/dashboard/connections/:id/disconnect",
  "/dashboard/purchases",
  "/dashboard/subscriptions/:id/cancel",
  "/publisher",
  "/publisher/payouts/:id",
  "/operator",
  "/operator/versions/:id/decision",
  "/operator/suspend",
  "/operator/unsuspend",
];

type Me = MeBody;

export function webRouter(appFetch: AppFetch) {
  const web = new Hono<AppEnv>();

  web.use("*", async (c, next) => {
    await next();
    if ((c.res.headers.get("content-type") ?? "").startsWith("text/html")) {
      c.res.headers.set("content-security-policy", WEB_CSP);
      c.res.headers.set("cache-control", "no-store");
      c.res.headers.set("referrer-policy", "same-origin");
    }
  });

  /** Who is looking: the session (if any) and what the API says about its key. */
  async function viewer(c: Context<AppEnv>): Promise<{ viewer: Viewer; session: Session | null }> {
    const session = await readSession(c);
    if (!session) return { viewer: { signedIn: false }, session: null };
    const me = await callApi<Me>(c, appFetch, "/v1/me", { key: session.apiKey });
    if (me.status !== 200) return { viewer: { signedIn: false }, session: null };
    return {
      viewer: {
        signedIn: true,
        name: me.data.user?.name ?? "",
        org: me.data.organization?.slug ?? "",
        operator: me.data.role === "operator",
        csrf: session.csrf,
      },
      session,
    };
  }

  /**
   * A signed-in form post carrying the session's CSRF token: the session and the form, or the
   * answer to send (to sign in first: `signinUrl`; a missing or wrong token: 403).
   */
  async function formPost(
    c: Context<AppEnv>,
    signinUrl: string,
  ): Promise<{ session: Session; form: Record<string, unknown> } | Response> {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const session = await readSession(c);
    if (!session) return c.redirect(signinUrl, 303);
    if (!(await csrfOk(session, form.csrf)))
      return c.text("The form expired; reload the page and try again.", 403);
    return { session, form };
  }

  web.get("/assets/app.css", (c) =>
    c.body(CSS, 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": "public, max-age=3600",
    }),
  );

  for (const path of ["/favicon.svg", "/favicon.ico"])
    web.get(path, (c) =>
      c.body(FAVICON_SVG, 200, {
        "content-type": "image/svg+xml",
        "cache-control": "public, max-age=86400",
      }),
    );

  web.get("/", async (c) => {
    const { viewer: v } = await viewer(c);
    const allowed = ["q", "category", "kind", "pricing", "sort", "cursor"];
    const q = Object.fromEntries(
      Object.entries(c.req.query()).filter(([k, val]) => allowed.includes(k) && val !== ""),
    );
    const [listings, cats] = await Promise.all([
      callApi<ListingPageBody>(
        c,
        appFetch,
        `/v1/marketplace/listings?${new URLSearchParams({ limit: "24", ...q })}`,
      ),
      callApi<CategoriesBody>(c, appFetch, "/v1/marketplace/categories"),
    ]);
    const error = listings.status === 200 ? undefined : problemText(listings);
    return c.html(
      <Storefront
        viewer={v}
        q={q}
        listings={listings.data?.listings ?? []}
        categories={cats.data?.categories ?? []}
        next={listings.data?.nextCursor ?? null}
        {...(error ? { error } : {})}
      />,
    );
  });

  async function listingPage(
    c: Context<AppEnv>,
    extra: {
      notice?: string;
      error?: string;
      fieldErrors?: Record<string, string>;
      values?: ListingFormValues;
      status?: 200 | 400 | 402 | 403 | 404 | 409 | 422;
    } = {},
  ) {
    const { viewer: v, session } = await viewer(c);
    const { scope = "", name = "" } = c.req.param();
    const key = session?.apiKey ?? null;
    const [listing, ratings, eligibility] = await Promise.all([
      callApi<ListingBody>(c, appFetch, `/v1/marketplace/listings/${scope}/${name}`),
      callApi<RatingsBody>(
        c,
        appFetch,
        `/v1/marketplace/listings/${scope}/${name}/ratings?limit=20`,
      ),
      key
        ? callApi<RatingEligibilityBody>(
            c,
            appFetch,
            `/v1/marketplace/listings/${scope}/${name}/rating/eligibility`,
            { key },
          )
        : null,
    ]);
    if (listing.status !== 200) return c.html(<NotFoundPage viewer={v} />, 404);
    // The buy box's state, only where there is one: a paid listing of another publisher.
    const buy: BuyState =
      key && listing.data.pricing.model !== "free" && listing.data.publisher !== v.org
        ? await buyState(c, key, `${scope}/${name}`)
        : { owned: null, cardOnFile: null };
    const data = {
      ...listing.data,
      descriptionHtml: renderMarkdown(listing.data.description ?? ""),
    };
    return c.html(
      <ListingPage
        viewer={v}
        listing={data}
        ratings={
          ratings.status === 200
            ? ratings.data
            : { average: null, count: 0, distribution: {}, reviews: [], nextCursor: null }
        }
        eligibility={eligibility?.status === 200 ? eligibility.data : null}
        buy={buy}
        values={extra.values ?? {}}
        notice={extra.notice}
        error={extra.error}
        fieldErrors={extra.fieldErrors ?? {}}
      />,
      extra.status ?? 200,
    );
  }

  /** Whether the organization already holds the listing, and its card on file (masked). */
  async function buyState(c: Context<AppEnv>, key: string, listing: string): Promise<BuyState> {
    const [purchases, method] = await Promise.all([
      callApi<PurchasesBody>(c, appFetch, "/v1/purchases?limit=100", { key }),
      callApi<PaymentMethodBody>(c, appFetch, "/v1/billing/payment-method", { key }),
    ]);
    // Held: not refunded, and (a subscription) not ended or canceled — one cancelled at the end
    // of its period is still active until then.
    const live = (s: SubscriptionBody | null) =>
      !s || s.status === "active" || s.status === "past_due";
    const owned =
      (purchases.status === 200 ? purchases.data.purchases : []).find(
        (p) => p.listing === listing && p.status !== "refunded" && live(p.subscription),
      ) ?? null;
    return { owned, cardOnFile: method.status === 200 ? method.data.paymentMethod : null };
  }

  /** The install and rate forms' fields as typed, for the page to show them again. */
  const typed = (form: Record<string, unknown>): ListingFormValues => {
    const str = (k: string) => (typeof form[k] === "string" ? (form[k] as string) : undefined);
    const out: ListingFormValues = {};
    for (const k of ["environment", "stars", "review", "payWith", "token"] as const) {
      const val = str(k);
      if (val !== undefined) out[k] = val;
    }
    const grants = ([] as unknown[])
      .concat(form.grants ?? [])
      .filter((g): g is string => typeof g === "string");
    if (grants.length > 0) out.grants = grants;
    return out;
  };

  web.get("/listings/:scope/:name", (c) => {
    const notice = noticeText(c.req.query("notice"));
    return listingPage(c, notice ? { notice } : {});
  });

  web.post("/listings/:scope/:name/install", async (c) => {
    const f = await formPost(
      c,
      `/signin?next=${encodeURIComponent(c.req.path.replace(/\/install$/, ""))}`,
    );
    if (f instanceof Response) return f;
    const { session, form } = f;
    const { scope = "", name = "" } = c.req.param();
    const values = typed(form);
    const grants = values.grants ?? [];
    const environment = values.environment ?? "development";
    const res = await callApi<{ id: string; endpoint: string; environment: string }>(
      c,
      appFetch,
      "/v1/installations",
      {
        method: "POST",
        key: session.apiKey,
        json: { plugin: `${scope}/${name}`, environment, grants },
      },
    );
    if (res.status === 201)
      return c.redirect(
        withNotice(
          `/listings/${scope}/${name}`,
          `installed-${res.data.environment as "development" | "staging" | "production"}`,
        ),
        303,
      );
    const p = res.data as unknown as { type?: string };
    const grantsProblem = p?.type?.endsWith("grants-mismatch");
    const needsPurchase = p?.type?.endsWith("purchase-required");
    return listingPage(c, {
      values,
      ...(grantsProblem
        ? { fieldErrors: { grants: problemText(res) } }
        : needsPurchase
          ? {
              error: `${scope}/${name} is a paid listing: buy it first (the Buy form on this page), then install it.`,
            }
          : { error: problemText(res) }),
      status: res.status === 402 ? 402 : res.status === 409 ? 409 : res.status === 403 ? 403 : 400,
    });
  });

  web.post("/listings/:scope/:name/rate", async (c) => {
    const f = await formPost(c, "/signin");
    if (f instanceof Response) return f;
    const { session, form } = f;
    const { scope = "", name = "" } = c.req.param();
    const values = typed(form);
    const stars = Number(form.stars);
    if (!Number.isInteger(stars) || stars < 1 || stars > 5)
      return listingPage(c, {
        values,
        fieldErrors: { stars: "Choose from 1 to 5 stars." },
        status: 400,
      });
    const review =
      typeof form.review === "string" && form.review.trim() ? form.review.trim() : undefined;
    const res = await callApi(c, appFetch, `/v1/marketplace/listings/${scope}/${name}/rating`, {
      method: "PUT",
      key: session.apiKey,
      json: { stars, ...(review ? { review } : {}) },
    });
    if (res.status === 200)
      return c.redirect(withNotice(`/listings/${scope}/${name}`, "rated"), 303);
    return listingPage(c, {
      values,
      ...(res.status === 403
        ? { error: problemText(res) }
        : { fieldErrors: { stars: problemText(res) } }),
      status: res.status === 403 ? 403 : 400,
    });
  });

  web.post("/listings/:scope/:name/reviews/:id/reply", async (c) => {
    const f = await formPost(c, "/signin");
    if (f instanceof Response) return f;
    const { scope = "", name = "", id = "" } = c.req.param();
    const text = typeof f.form.text === "string" ? f.form.text : "";
    if (!/^rat_[0-9A-Za-z]{1,40}$/.test(id))
      return listingPage(c, { error: "That review does not exist.", status: 404 });
    const fail = (message: string, status: 400 | 403 | 404 | 409) =>
      listingPage(c, {
        values: { reply: { id, text } },
        fieldErrors: { [`reply-${id}`]: message },
        status,
      });
    if (!text.trim()) return fail("Write the reply first.", 400);
    const res = await callApi(
      c,
      appFetch,
      `/v1/marketplace/listings/${scope}/${name}/ratings/${id}/reply`,
      { method: "POST", key: f.session.apiKey, json: { text } },
    );
    if (res.status === 204)
      return c.redirect(withNotice(`/listings/${scope}/${name}`, "replied"), 303);
    return fail(
      problemText(res),
      res.status === 403 ? 403 : res.status === 404 ? 404 : res.status === 409 ? 409 : 400,
    );
  });

  /** The buy form's choice: the card on file, or the token typed (checked by the API). */
  function payment(form: Record<string, unknown>): {
    payWith: "card" | "token";
    token: string;
    error?: string;
  } {
    const payWith = form.payWith === "token" ? "token" : "card";
    const token = typeof form.token === "string" ? form.token.trim() : "";
    if (payWith === "token" && !token)
      return { payWith, token, error: "Enter a card token (such as tok_visa)." };
    return { payWith, token };
  }

  web.post("/listings/:scope/:name/buy", async (c) => {
    const f = await formPost(
      c,
      `/signin?next=${encodeURIComponent(c.req.path.replace(/\/buy$/, ""))}`,
    );
    if (f instanceof Response) return f;
    const { scope = "", name = "" } = c.req.param();
    const pay = payment(f.form);
    if (pay.error)
      return listingPage(c, {
        values: typed(f.form),
        fieldErrors: { payment: pay.error },
        status: 400,
      });
    const [{ viewer: v }, listing, buy] = await Promise.all([
      viewer(c),
      callApi<ListingBody>(c, appFetch, `/v1/marketplace/listings/${scope}/${name}`),
      buyState(c, f.session.apiKey, `${scope}/${name}`),
    ]);
    if (listing.status !== 200) return c.html(<NotFoundPage viewer={v} />, 404);
    if (pay.payWith === "card" && !buy.cardOnFile)
      return listingPage(c, {
        values: typed(f.form),
        fieldErrors: { payment: "Your organization has no card on file: enter a card token." },
        status: 400,
      });
    // The key is made when the confirmation renders: every submission of this form (a double
    // click, a reload) carries the same one, so the API charges once and replays the answer.
    return c.html(
      <BuyConfirmPage
        viewer={v}
        listing={listing.data}
        payWith={pay.payWith}
        token={pay.token}
        cardOnFile={buy.cardOnFile}
        idempotencyKey={`web_${randomBase62(32)}`}
      />,
    );
  });

  web.post("/listings/:scope/:name/buy/confirm", async (c) => {
    const f = await formPost(
      c,
      `/signin?next=${encodeURIComponent(c.req.path.replace(/\/buy\/confirm$/, ""))}`,
    );
    if (f instanceof Response) return f;
    const { scope = "", name = "" } = c.req.param();
    const values = typed(f.form);
    const pay = payment(f.form);
    const key = typeof f.form.idempotencyKey === "string" ? f.form.idempotencyKey : "";
    if (!/^web_[0-9A-Za-z]{32}$/.test(key) || pay.error)
      return listingPage(c, {
        values,
        error: "The purchase form expired; review the purchase again.",
        status: 400,
      });
    const buyOnce = () =>
      callApi(c, appFetch, "/v1/purchases", {
        method: "POST",
        key: f.session.apiKey,
        headers: { "idempotency-key": key },
        json: {
          listing: `${scope}/${name}`,
          ...(pay.payWith === "token" ? { paymentMethod: pay.token } : {}),
        },
      });
    // Runs to its end even if the browser drops this request (a second click cancels the first
    // navigation): the charge and the stored answer are not left half done under the key.
    const first = buyOnce();
    c.executionCtx.waitUntil(
      first.then(
        () => undefined,
        () => undefined,
      ),
    );
    let res = await first;
    // A second submission while the first is still charging: wait for the first one's answer
    // (the API replays it) rather than show an error.
    for (let i = 0; i < 20 && res.status === 409 && isInProgress(res.data); i++) {
      await new Promise((r) => setTimeout(r, 250));
      res = await buyOnce();
    }
    if (res.status === 201) return c.redirect(withNotice("/dashboard/purchases", "purchased"), 303);
    const { viewer: v } = await viewer(c);
    if (res.status === 409 && isInProgress(res.data))
      return c.html(<BuyPendingPage viewer={v} listing={`${scope}/${name}`} />, 202);
    return listingPage(c, {
      values,
      fieldErrors: { payment: problemText(res) },
      status:
        res.status === 402
          ? 402
          : res.status === 404
            ? 404
            : res.status === 409
              ? 409
              : res.status === 422
                ? 422
                : res.status === 403
                  ? 403
                  : 400,
    });
  });

  web.get("/signin", async (c) => {
    const { viewer: v } = await viewer(c);
    return c.html(
      <SignIn viewer={v} next={safeNext(c.req.query("next"))} formToken={await formToken(c)} />,
    );
  });

  web.post("/signin", async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    // Login CSRF: only a form this site served to this browser signs it in.
    if (!(await formTokenOk(c, form.formToken)))
      return c.html(
        <SignIn
          viewer={{ signedIn: false }}
          next={next}
          formToken={await formToken(c)}
          error="The form expired; enter the key again."
        />,
        403,
      );
    const key = typeof form.apiKey === "string" ? form.apiKey.trim() : "";
    const me = key
      ? await callApi<Me>(c, appFetch, "/v1/me", { key })
      : { status: 400, data: null };
    if (me.status !== 200)
      return c.html(
        <SignIn
          viewer={{ signedIn: false }}
          next={next}
          formToken={await formToken(c)}
          error={
            key ? "That API key is not valid (revoked, expired or mistyped)." : "Enter an API key."
          }
        />,
        400,
      );
    await createSession(c, key);
    return c.redirect(next, 303);
  });

  web.post("/signout", async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const session = await readSession(c);
    if (session && !(await csrfOk(session, form.csrf)))
      return c.text("The form expired; reload the page and try again.", 403);
    await endSession(c);
    return c.redirect("/", 303);
  });

  web.get("/signup", async (c) => {
    const { viewer: v } = await viewer(c);
    return c.html(<SignUp viewer={v} values={{}} errors={{}} formToken={await formToken(c)} />);
  });

  web.post("/signup", async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    if (!(await formTokenOk(c, form.formToken)))
      return c.html(
        <SignUp
          viewer={{ signedIn: false }}
          values={{}}
          errors={{}}
          formToken={await formToken(c)}
          error="The form expired; fill it in again."
        />,
        403,
      );
    const values = Object.fromEntries(
      ["name", "email", "organization", "slug"].map((k) => [
        k,
        typeof form[k] === "string" ? (form[k] as string).trim() : "",
      ]),
    );
    const res = await callApi<SignupBody>(c, appFetch, "/v1/signup", {
      method: "POST",
      json: {
        email: values.email,
        name: values.name,
        organization: { name: values.organization, slug: values.slug },
      },
    });
    if (res.status === 201) {
      const session = await createSession(c, res.data.apiKey);
      return c.html(
        <Welcome
          viewer={{
            signedIn: true,
            name: values.name ?? "",
            org: res.data.organization.slug,
            csrf: session.csrf,
          }}
          apiKey={res.data.apiKey}
          org={res.data.organization.slug}
        />,
        201,
      );
    }
    // The API's field errors go next to their fields ("organization.slug" → slug).
    const p = res.data as unknown as {
      errors?: { path: string; message: string }[];
      type?: string;
    };
    const errors: Record<string, string> = {};
    for (const e of p?.errors ?? [])
      errors[
        e.path
          .replace(/^organization\.slug$/, "slug")
          .replace(/^organization(\.name)?$/, "organization")
      ] = e.message;
    if (p?.type?.endsWith("email-taken") || (/email/i.test(problemText(res)) && res.status === 409))
      errors.email = problemText(res);
    if (
      p?.type?.endsWith("slug-taken") ||
      (/slug|handle/i.test(problemText(res)) && res.status === 409)
    )
      errors.slug = problemText(res);
    return c.html(
      <SignUp
        viewer={{ signedIn: false }}
        values={values}
        errors={errors}
        formToken={await formToken(c)}
        {...(Object.keys(errors).length === 0 ? { error: problemText(res) } : {})}
      />,
      res.status === 409 ? 409 : 400,
    );
  });

  /** Pages that need a session: the viewer and the session, or a redirect to sign in. */
  async function signedIn(
    c: Context<AppEnv>,
  ): Promise<{ viewer: Viewer; session: Session } | Response> {
    const r = await viewer(c);
    if (!r.session) return c.redirect(`/signin?next=${encodeURIComponent(c.req.path)}`, 303);
    return { viewer: r.viewer, session: r.session };
  }

  async function tenantPage(
    c: Context<AppEnv>,
    extra: {
      notice?: string;
      error?: string;
      newKey?: string;
      keyError?: string;
      keyName?: string;
    } = {},
  ) {
    const s = await signedIn(c);
    if (s instanceof Response) return s;
    const key = s.session.apiKey;
    const [inst, keys, conns, notices] = await Promise.all([
      callApi<InstallationsBody>(c, appFetch, "/v1/installations", { key }),
      callApi<ApiKeysBody>(c, appFetch, "/v1/api-keys", { key }),
      callApi<ConnectionsBody>(c, appFetch, "/v1/connections", { key }),
      // What the platform told the organization (the kill switch's notices).
      callApi<MeBody>(c, appFetch, "/v1/me", { key }).then((me) =>
        me.data?.organization
          ? callApi<{ notices: { id: string; message: string; createdAt: string }[] }>(
              c,
              appFetch,
              `/v1/organizations/${me.data.organization.id}/notices`,
              { key },
            ).then((r) => r.data?.notices ?? [])
          : [],
      ),
    ]);
    return c.html(
      <TenantDashboard
        viewer={s.viewer}
        installations={inst.data?.installations ?? []}
        keys={keys.data?.keys ?? []}
        connections={conns.data?.connections ?? []}
        platformNotices={notices.slice(0, 10)}
        notice={extra.notice ?? noticeText(c.req.query("notice"))}
        error={extra.error}
        newKey={extra.newKey}
        keyError={extra.keyError}
        keyName={extra.keyName}
      />,
      extra.error || extra.keyError ? 400 : extra.newKey ? 201 : 200,
    );
  }

  web.get("/dashboard", (c) => tenantPage(c));

  web.post("/dashboard/keys", async (c) => {
    const f = await formPost(c, "/signin?next=%2Fdashboard");
    if (f instanceof Response) return f;
    const name = typeof f.form.name === "string" ? f.form.name.trim() : "";
    if (!name) return tenantPage(c, { keyError: "Give the key a name (what uses it)." });
    const res = await callApi<CreatedKeyBody>(c, appFetch, "/v1/api-keys", {
      method: "POST",
      key: f.session.apiKey,
      json: { name },
    });
    return res.status === 201
      ? tenantPage(c, { newKey: res.data.key })
      : tenantPage(c, { keyError: problemText(res), keyName: name });
  });

  web.post("/dashboard/keys/:id/revoke", async (c) => {
    const f = await formPost(c, "/signin?next=%2Fdashboard");
    if (f instanceof Response) return f;
    const id = c.req.param("id");
    if (!/^key_[0-9A-Za-z]{1,40}$/.test(id))
      return tenantPage(c, { error: "That key does not exist." });
    const res = await callApi(c, appFetch, `/v1/api-keys/${id}`, {
      method: "DELETE",
      key: f.session.apiKey,
    });
    if (res.status !== 204) return tenantPage(c, { error: problemText(res) });
    // Revoking the key this session signed in with ends the session.
    if ((await callApi(c, appFetch, "/v1/me", { key: f.session.apiKey })).status !== 200) {
      await endSession(c);
      return c.redirect("/signin", 303);
    }
    return c.redirect(withNotice("/dashboard", "key-revoked"), 303);
  });

  web.post("/dashboard/connections/:id/disconnect", async (c) => {
    const f = await formPost(c, "/signin?next=%2Fdashboard");
    if (f instanceof Response) return f;
    const id = c.req.param("id");
    if (!/^con_[0-9A-Za-z]{1,40}$/.test(id))
      return tenantPage(c, { error: "That connection does not exist." });
    const res = await callApi(c, appFetch, `/v1/connections/${id}`, {
      method: "DELETE",
      key: f.session.apiKey,
    });
    return res.status === 204
      ? c.redirect(withNotice("/dashboard", "disconnected"), 303)
      : tenantPage(c, { error: problemText(res) });
  });

  web.post("/dashboard/installations/:id/:action{uninstall|upgrade}", async (c) => {
    const f = await formPost(c, "/signin?next=/dashboard");
    if (f instanceof Response) return f;
    const { session, form } = f;
    const id = c.req.param("id");
    if (!/^ins_[0-9A-Za-z]{1,40}$/.test(id))
      return tenantPage(c, { error: "That installation does not exist." });
    if (c.req.param("action") === "uninstall") {
      const res = await callApi(c, appFetch, `/v1/installations/${id}`, {
        method: "DELETE",
        key: session.apiKey,
      });
      return res.status === 204
        ? c.redirect(withNotice("/dashboard", "uninstalled"), 303)
        : tenantPage(c, { error: problemText(res) });
    }
    const version = typeof form.version === "string" ? form.version.trim() : "";
    if (!version) return tenantPage(c, { error: "Enter the version to change to." });
    const res = await callApi<{ version: string }>(c, appFetch, `/v1/installations/${id}`, {
      method: "PATCH",
      key: session.apiKey,
      json: { version },
    });
    return res.status === 200
      ? c.redirect(withNotice("/dashboard", "upgraded"), 303)
      : tenantPage(c, { error: problemText(res) });
  });

  async function purchasesPage(
    c: Context<AppEnv>,
    extra: { error?: string; status?: 200 | 400 | 403 | 404 | 409 } = {},
  ) {
    const s = await signedIn(c);
    if (s instanceof Response) return s;
    const key = s.session.apiKey;
    const [purchases, subs] = await Promise.all([
      callApi<PurchasesBody>(c, appFetch, "/v1/purchases?limit=100", { key }),
      callApi<SubscriptionsBody>(c, appFetch, "/v1/subscriptions", { key }),
    ]);
    const refused = [purchases, subs].find((r) => r.status !== 200);
    return c.html(
      <PurchasesPage
        viewer={s.viewer}
        purchases={purchases.status === 200 ? purchases.data.purchases : []}
        subscriptions={subs.status === 200 ? subs.data.subscriptions : []}
        notice={noticeText(c.req.query("notice"))}
        error={extra.error ?? (refused ? problemText(refused) : undefined)}
      />,
      extra.status ?? 200,
    );
  }

  web.get("/dashboard/purchases", (c) => purchasesPage(c));

  web.post("/dashboard/subscriptions/:id/cancel", async (c) => {
    const f = await formPost(c, "/signin?next=%2Fdashboard%2Fpurchases");
    if (f instanceof Response) return f;
    const id = c.req.param("id");
    if (!/^sub_[0-9A-Za-z]{1,40}$/.test(id))
      return purchasesPage(c, { error: "That subscription does not exist.", status: 404 });
    const res = await callApi(c, appFetch, `/v1/subscriptions/${id}/cancel`, {
      method: "POST",
      key: f.session.apiKey,
    });
    return res.status === 200
      ? c.redirect(withNotice("/dashboard/purchases", "subscription-canceled"), 303)
      : purchasesPage(c, {
          error: problemText(res),
          status:
            res.status === 404 ? 404 : res.status === 409 ? 409 : res.status === 403 ? 403 : 400,
        });
  });

  web.get("/publisher", async (c) => {
    const s = await signedIn(c);
    if (s instanceof Response) return s;
    const key = s.session.apiKey;
    const [report, balance, payouts] = await Promise.all([
      callApi<Report>(c, appFetch, "/v1/analytics/report", { key }),
      callApi<BalanceBody>(c, appFetch, "/v1/revenue/balance", { key }),
      callApi<PayoutsBody>(c, appFetch, "/v1/revenue/payouts", { key }),
    ]);
    const r = report.status === 200 ? report.data : emptyReport("publisher");
    const listings = [...r.topPlugins.byInstalls, ...r.topApps.byInstalls].map((l) => l.listing);
    const versions = await Promise.all(
      listings.map(async (listing) => ({
        listing,
        versions:
          (await callApi<PluginBody>(c, appFetch, `/v1/plugins/${listing}`, { key })).data
            ?.versions ?? [],
      })),
    );
    return c.html(
      <PublisherDashboard
        viewer={s.viewer}
        report={r}
        versions={versions}
        balances={balance.data?.balances ?? []}
        payouts={payouts.data?.payouts ?? []}
      />,
    );
  });

  web.get("/publisher/payouts/:id", async (c) => {
    const s = await signedIn(c);
    if (s instanceof Response) return s;
    const id = c.req.param("id");
    const r = /^po_[0-9A-Za-z]{1,40}$/.test(id)
      ? await callApi<PayoutStatementBody>(c, appFetch, `/v1/revenue/payouts/${id}`, {
          key: s.session.apiKey,
        })
      : null;
    if (!r || r.status !== 200) return c.html(<NotFoundPage viewer={s.viewer} />, 404);
    return c.html(<StatementPage viewer={s.viewer} payout={r.data} />);
  });

  async function operatorPage(
    c: Context<AppEnv>,
    extra: { notice?: string; error?: string; values?: Record<string, string> } = {},
  ) {
    const s = await signedIn(c);
    if (s instanceof Response) return s;
    if (!s.viewer.operator) return c.html(<NotFoundPage viewer={s.viewer} />, 404);
    const key = s.session.apiKey;
    const [queue, report] = await Promise.all([
      callApi<ReviewQueueBody>(c, appFetch, "/v1/operator/review-queue", { key }),
      callApi<Report>(c, appFetch, "/v1/analytics/report", { key }),
    ]);
    return c.html(
      <OperatorPage
        viewer={s.viewer}
        queue={queue.data?.versions ?? []}
        report={report.status === 200 ? report.data : emptyReport("platform")}
        notice={extra.notice ?? noticeText(c.req.query("notice"))}
        error={extra.error}
        values={extra.values ?? {}}
      />,
      extra.error ? 400 : 200,
    );
  }

  web.get("/operator", (c) => operatorPage(c));

  web.post("/operator/versions/:id/decision", async (c) => {
    const f = await formPost(c, "/signin?next=/operator");
    if (f instanceof Response) return f;
    const { session, form } = f;
    const decision = form.decision === "reject" ? "reject" : "approve";
    const reason =
      typeof form.reason === "string" && form.reason.trim() ? form.reason.trim() : undefined;
    const versionId = c.req.param("id");
    const values = { versionId, reason: typeof form.reason === "string" ? form.reason : "" };
    if (decision === "reject" && !reason)
      return operatorPage(c, {
        error: "A rejection needs a reason: the publisher reads it.",
        values,
      });
    const res = await callApi<{ plugin: string; version: string; status: string }>(
      c,
      appFetch,
      `/v1/operator/versions/${encodeURIComponent(c.req.param("id"))}/decision`,
      { method: "POST", key: session.apiKey, json: { decision, ...(reason ? { reason } : {}) } },
    );
    return res.status === 200
      ? c.redirect(
          withNotice("/operator", decision === "reject" ? "version-rejected" : "version-approved"),
          303,
        )
      : operatorPage(c, { error: problemText(res), values });
  });

  for (const [path, suspended] of [
    ["/operator/suspend", true],
    ["/operator/unsuspend", false],
  ] as const)
    web.post(path, async (c) => {
      const f = await formPost(c, "/signin?next=/operator");
      if (f instanceof Response) return f;
      const { session, form } = f;
      const listing = typeof form.listing === "string" ? form.listing.trim() : "";
      const reason =
        typeof form.reason === "string" && form.reason.trim() ? form.reason.trim() : undefined;
      const values: Record<string, string> = suspended
        ? { suspend: listing, suspendReason: reason ?? "" }
        : { lift: listing };
      if (!/^@[a-z0-9-]{3,39}\/[a-z0-9][a-z0-9._-]{0,63}$/.test(listing))
        return operatorPage(c, { error: "Name a listing as @scope/name.", values });
      const res = await callApi(c, appFetch, `/v1/operator/listings/${listing}/suspension`, {
        method: "PUT",
        key: session.apiKey,
        json: suspended
          ? { suspended: true, reason: reason ?? "suspended by the operator" }
          : { suspended: false },
      });
      return res.status === 200
        ? c.redirect(withNotice("/operator", suspended ? "suspended" : "unsuspended"), 303)
        : operatorPage(c, { error: problemText(res), values });
    });

  web.get("/portal", async (c) => {
    const { viewer: v } = await viewer(c);
    const list = await callApi<TutorialsBody>(c, appFetch, "/v1/portal/tutorials");
    return c.html(<Portal viewer={v} tutorials={list.data?.tutorials ?? []} />);
  });

  web.get("/portal/tutorials/:slug", async (c) => {
    const { viewer: v } = await viewer(c);
    const t = await callApi<TutorialBody>(
      c,
      appFetch,
      `/v1/portal/tutorials/${encodeURIComponent(c.req.param("slug"))}`,
    );
    if (t.status !== 200) return c.html(<NotFoundPage viewer={v} />, 404);
    return c.html(
      <TutorialPage
        viewer={v}
        title={t.data.title}
        difficulty={t.data.difficulty}
        html={t.data.html}
      />,
    );
  });

  return web;
}

/** An API answer that says an earlier request with the same idempotency key is still running. */
function isInProgress(data: unknown): boolean {
  return (
    typeof data === "object" &&
    data !== null &&
    typeof (data as { type?: unknown }).type === "string" &&
    (data as { type: string }).type.endsWith("idempotency-key-in-use")
  );
}

/** A report with nothing in it (when the API refuses one), of the schema's shape. */
function emptyReport(scope: "platform" | "publisher"): Report {
  const tops = { byInstalls: [], byRevenue: [], byRating: [] };
  return {
    period: { from: "", to: "" },
    scope,
    metrics: {
      totalPlugins: 0,
      totalApps: 0,
      totalTemplates: 0,
      totalDevelopers: 0,
      activeInstalls: 0,
      installs: 0,
      uninstalls: 0,
      newDevelopers: 0,
      apiCalls: 0,
      revenue: [],
      mrr: [],
      churn: { subscriptionsAtStart: 0, churned: 0, started: 0, rate: 0 },
    },
    topPlugins: tops,
    topApps: tops,
    growthTrends: { daily: [], monthly: [] },
    revenueBreakdown: { byCurrency: [], byCategory: [], byListing: [], byDeveloper: [] },
  };
}

/**
 * The posted form, or a 400 for a body that cannot be read (a malformed multipart body, a bad
 * boundary): it is refused before anything else, signed in or not.
 */
async function readForm(c: Context<AppEnv>): Promise<Record<string, unknown> | Response> {
  try {
    return await c.req.parseBody({ all: true });
  } catch {
    return c.text("The form could not be read.", 400);
  }
}

/** Only same-site paths are followed after sign-in (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[\w\-./@%?=&]*$/.test(next) ? next : "/";
}

/** A friendly HTML 404 for browsers on non-API paths. */
export function wantsHtml(c: Context<AppEnv>): boolean {
  const p = c.req.path;
  return (
    (c.req.header("accept") ?? "").includes("text/html") &&
    !/^\/(v1|p|apps|oauth|\.well-known|schemas|__host)(\/|$)/.test(p)
  );
}

export async function htmlNotFound(c: Context<AppEnv>): Promise<Response> {
  const session = await readSession(c).catch(() => null);
  const res = await c.html(
    <NotFoundPage
      viewer={{ signedIn: Boolean(session), ...(session ? { csrf: session.csrf } : {}) }}
    />,
    404,
  );
  res.headers.set("content-security-policy", WEB_CSP);
  return res;
}
