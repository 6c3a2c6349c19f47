/** Marketplace, listing, sign-in and portal pages (server-rendered; no script needed). */
import { raw } from "hono/html";
import { Layout, type Viewer } from "./layout";
import { format, isCurrency } from "../contract/currency";
import type {
  Category,
  ListingBody,
  ListingSummaryBody,
  PurchaseBody,
  RatingEligibilityBody,
  RatingsBody,
  TutorialsBody,
} from "../api-types";

export type ListingCard = ListingSummaryBody;

export function price(p: ListingCard["pricing"]): string {
  if (p.model === "free" || p.amount === undefined || !p.currency || !isCurrency(p.currency))
    return "Free";
  return `${format(p.amount, p.currency)}${p.model === "subscription" ? ` / ${p.interval ?? "month"}` : p.model === "usage" ? " per use" : ""}`;
}

/** What buying it means, in a sentence (shown next to the price). */
export function priceTerms(p: ListingCard["pricing"]): string {
  switch (p.model) {
    case "subscription":
      return `Charged now for the first ${p.interval ?? "month"}, then every ${p.interval ?? "month"} until you cancel (access runs to the end of the paid period).`;
    case "usage":
      return "Nothing is charged now: calls are metered and billed afterwards.";
    case "one-time":
      return "Charged once; yours to keep.";
    default:
      return "";
  }
}

function stars(r: { average: number | null; count: number }): string {
  return r.average === null
    ? "No ratings yet"
    : `${r.average.toFixed(1)} of 5 (${r.count} rating${r.count === 1 ? "" : "s"})`;
}

export function Storefront(props: {
  viewer: Viewer;
  q: Record<string, string>;
  listings: ListingCard[];
  categories: Category[];
  next: string | null;
  error?: string;
}) {
  const q = props.q;
  const sel = (name: string, value: string) => (q[name] ?? "") === value;
  return (
    <Layout title="Marketplace" viewer={props.viewer} alert={props.error}>
      <h1>Marketplace</h1>
      <form class="search" method="get" action="/" role="search">
        <div>
          <label for="q">Search</label>
          <input
            id="q"
            name="q"
            type="search"
            value={q.q ?? ""}
            placeholder="percentiles, slack, payments…"
            maxlength={100}
          />
        </div>
        <div>
          <label for="category">Category</label>
          <select id="category" name="category">
            <option value="">All categories</option>
            {props.categories.map((c) => (
              <option value={c.id} selected={sel("category", c.id)}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="kind">Kind</label>
          <select id="kind" name="kind">
            <option value="">Any</option>
            {["plugin", "app", "template"].map((k) => (
              <option value={k} selected={sel("kind", k)}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="pricing">Price</label>
          <select id="pricing" name="pricing">
            <option value="">Any</option>
            <option value="free" selected={sel("pricing", "free")}>
              Free
            </option>
            <option value="paid" selected={sel("pricing", "paid")}>
              Paid
            </option>
          </select>
        </div>
        <div>
          <label for="sort">Sort by</label>
          <select id="sort" name="sort">
            {[
              ["relevance", "Relevance"],
              ["installs", "Installs"],
              ["rating", "Rating"],
              ["newest", "Newest"],
            ].map(([v, l]) => (
              <option value={v} selected={sel("sort", v ?? "")}>
                {l}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      <h2 id="categories">Categories</h2>
      <ul class="cats" aria-labelledby="categories">
        {props.categories
          .filter((c) => c.listings > 0)
          .map((c) => (
            <li>
              <a
                class="tag"
                href={`/?category=${encodeURIComponent(c.id)}`}
              >{`${c.name} (${c.listings})`}</a>
            </li>
          ))}
      </ul>
      <h2 id="results">{props.listings.length === 0 ? "Nothing matches" : "Listings"}</h2>
      <ul class="cards" aria-labelledby="results">
        {props.listings.map((l) => (
          <li class="card">
            <h3>
              <a href={`/listings/${l.name}`}>{l.displayName || l.name}</a>
            </h3>
            <p class="muted">
              {l.name} · {l.kind}
              {l.publisherVerified ? " · verified publisher" : ""}
            </p>
            <p>{l.summary}</p>
            <p>
              <span class="tag">{l.category}</span> <span class="tag">{price(l.pricing)}</span>
            </p>
            <p class="muted">
              {stars(l.rating)} · {l.installs} install{l.installs === 1 ? "" : "s"}
            </p>
          </li>
        ))}
      </ul>
      {props.next ? (
        <p>
          <a href={`/?${new URLSearchParams({ ...q, cursor: props.next }).toString()}`}>
            More results
          </a>
        </p>
      ) : null}
    </Layout>
  );
}

export type ListingPageData = ListingBody & { descriptionHtml: string };

/** What the viewer typed into the listing page's forms, kept when the page comes back with an error. */
export interface ListingFormValues {
  environment?: string;
  grants?: string[];
  stars?: string;
  review?: string;
  payWith?: string;
  token?: string;
  reply?: { id: string; text: string };
}

/** A route's limit in words: "60 per minute", "1000 per 3600 s". */
function limitText(limit: { requests: number; window: number } | undefined): string {
  if (!limit) return "The plan's";
  const unit = { 1: "second", 60: "minute", 3600: "hour", 86400: "day" }[limit.window];
  return `${limit.requests} per ${unit ?? `${limit.window} s`}`;
}

/** The buy box: whether it is owned, the card on file, and a buy error. */
export interface BuyState {
  /** The viewer's organization's purchase of it that still gives access, if any. */
  owned: PurchaseBody | null;
  /** The card on file, masked (null: none, or the key may not see billing). */
  cardOnFile: string | null;
}

const isPaid = (p: ListingCard["pricing"]) => price(p) !== "Free";

export function ListingPage(props: {
  viewer: Viewer;
  listing: ListingPageData;
  ratings: RatingsBody;
  /** The viewer's eligibility to rate (null when signed out). */
  eligibility: RatingEligibilityBody | null;
  buy: BuyState;
  values?: ListingFormValues;
  notice?: string | undefined;
  error?: string | undefined;
  fieldErrors?: Record<string, string>;
}) {
  const l = props.listing;
  const dist = props.ratings.distribution;
  const total = Math.max(1, props.ratings.count);
  const fe = props.fieldErrors ?? {};
  const v = props.values ?? {};
  const ownListing = props.viewer.signedIn && props.viewer.org === l.publisher;
  const paid = isPaid(l.pricing);
  const described = (id: string) => (fe[id] ? `${id}-error` : undefined);
  return (
    <Layout
      title={l.displayName || l.name}
      viewer={props.viewer}
      notice={props.notice}
      alert={props.error}
    >
      <h1>{l.displayName || l.name}</h1>
      <p class="muted">
        {l.name} · version {l.latestVersion ?? "—"} · by {l.publisher}
        {l.publisherVerified ? " (verified)" : ""} · {price(l.pricing)}
      </p>
      <div class="grid2">
        <section aria-labelledby="about">
          <h2 id="about">About</h2>
          <div class="prose">{raw(l.descriptionHtml)}</div>
          <h2 id="permissions">What it may do</h2>
          {l.permissions.length === 0 ? (
            <p>This plugin asks for no permissions: no network, no storage, no secrets.</p>
          ) : (
            <ul aria-labelledby="permissions">
              {l.permissions.map((p) => (
                <li>
                  <code>{p.permission}</code> — {p.allows}
                </li>
              ))}
            </ul>
          )}
          <h2 id="routes">Routes</h2>
          {(l.routes ?? []).length === 0 ? (
            <p>This plugin declares no routes: any path under its endpoint reaches it.</p>
          ) : (
            <table aria-labelledby="routes">
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  <th scope="col">Path</th>
                  <th scope="col">What it does</th>
                  <th scope="col">Limit</th>
                </tr>
              </thead>
              <tbody>
                {(l.routes ?? []).map((r) => (
                  <tr>
                    <td>
                      <code>{r.method}</code>
                    </td>
                    <td>
                      <code>{r.path}</code>
                    </td>
                    <td>{r.summary ?? ""}</td>
                    <td>{limitText(r.limit)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2 id="developers">For developers</h2>
          <p>
            <a href={`/v1/marketplace/listings/${l.name}/openapi.json`}>
              This plugin's API reference (OpenAPI)
            </a>{" "}
            · Client libraries:{" "}
            <a href={`/v1/portal/sdks/typescript?plugin=${encodeURIComponent(l.name)}`}>
              TypeScript
            </a>
            , <a href={`/v1/portal/sdks/python?plugin=${encodeURIComponent(l.name)}`}>Python</a>,{" "}
            <a href={`/v1/portal/sdks/java?plugin=${encodeURIComponent(l.name)}`}>Java</a>
          </p>
          <h2 id="versions">Versions</h2>
          <table aria-labelledby="versions">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Published</th>
                <th scope="col">Active installs</th>
                <th scope="col">Signed by</th>
              </tr>
            </thead>
            <tbody>
              {l.versions.map((ver) => (
                <tr>
                  <td>{ver.version}</td>
                  <td>{ver.createdAt.slice(0, 10)}</td>
                  <td>{ver.installs}</td>
                  <td class="signature">
                    {ver.signature ? (
                      <>
                        {ver.signature.keyName} <code>{ver.signature.fingerprint}</code>, source{" "}
                        <code>{ver.signature.sourceDigest.slice(0, 16)}…</code>
                        {ver.signature.keyRevoked ? <strong> (key revoked)</strong> : null}
                      </>
                    ) : (
                      "unsigned"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <aside aria-labelledby="install">
          {paid ? (
            <section aria-labelledby="buy">
              <h2 id="buy">Buy</h2>
              <p>
                Price: <strong id="price">{price(l.pricing)}</strong>
              </p>
              <p class="muted">{priceTerms(l.pricing)}</p>
              {!props.viewer.signedIn ? (
                <p>
                  <a href={`/signin?next=${encodeURIComponent(`/listings/${l.name}`)}`}>Sign in</a>{" "}
                  to buy it.
                </p>
              ) : ownListing ? (
                <p>This is your organization's listing: its own installs need no purchase.</p>
              ) : props.buy.owned ? (
                <p>
                  Your organization bought it on {props.buy.owned.createdAt.slice(0, 10)} (
                  {props.buy.owned.display}). <a href="/dashboard/purchases">Your purchases</a>
                </p>
              ) : (
                <form method="post" action={`/listings/${l.name}/buy`}>
                  <input type="hidden" name="csrf" value={props.viewer.csrf ?? ""} />
                  <fieldset aria-describedby={described("payment")}>
                    <legend>Pay with</legend>
                    <div>
                      <input
                        type="radio"
                        id="pay-card"
                        name="payWith"
                        value="card"
                        checked={
                          (v.payWith ?? (props.buy.cardOnFile ? "card" : "token")) === "card"
                        }
                        disabled={!props.buy.cardOnFile}
                      />
                      <label for="pay-card">
                        {props.buy.cardOnFile
                          ? `The card on file (${props.buy.cardOnFile})`
                          : "The card on file (your organization has none)"}
                      </label>
                    </div>
                    <div>
                      <input
                        type="radio"
                        id="pay-token"
                        name="payWith"
                        value="token"
                        checked={
                          (v.payWith ?? (props.buy.cardOnFile ? "card" : "token")) === "token"
                        }
                      />
                      <label for="pay-token">A card token</label>
                    </div>
                    <div class="field">
                      <label for="token">Card token</label>
                      <input
                        id="token"
                        name="token"
                        value={v.token ?? ""}
                        placeholder="tok_visa"
                        maxlength={110}
                        autocomplete="off"
                        aria-describedby="token-help"
                      />
                      <p class="muted" id="token-help">
                        A payment-method token from the payment provider. On the local platform (its
                        Stripe stand-in) <code>tok_visa</code> succeeds,{" "}
                        <code>tok_chargeDeclined</code> is declined.
                      </p>
                    </div>
                    {fe.payment ? (
                      <p class="error" id="payment-error">
                        {fe.payment}
                      </p>
                    ) : null}
                  </fieldset>
                  <p>
                    <button type="submit">Review the purchase</button>
                  </p>
                </form>
              )}
            </section>
          ) : null}
          <h2 id="install">Install</h2>
          {props.viewer.signedIn ? (
            <form method="post" action={`/listings/${l.name}/install`}>
              <input type="hidden" name="csrf" value={props.viewer.csrf ?? ""} />
              <div class="field">
                <label for="environment">Environment</label>
                <select id="environment" name="environment">
                  {["development", "staging", "production"].map((env) => (
                    <option value={env} selected={v.environment === env}>
                      {env}
                    </option>
                  ))}
                </select>
              </div>
              {l.permissions.length > 0 ? (
                <fieldset>
                  <legend>Grant its permissions</legend>
                  {l.permissions.map((p, i) => (
                    <div>
                      <input
                        type="checkbox"
                        id={`grant-${i}`}
                        name="grants"
                        value={p.permission}
                        checked={(v.grants ?? []).includes(p.permission)}
                      />
                      <label for={`grant-${i}`}>{p.permission}</label>
                    </div>
                  ))}
                  {fe.grants ? (
                    <p class="error" id="grants-error">
                      {fe.grants}
                    </p>
                  ) : null}
                </fieldset>
              ) : null}
              <p>
                <button type="submit">Install {l.displayName || l.name}</button>
              </p>
            </form>
          ) : (
            <p>
              <a href={`/signin?next=${encodeURIComponent(`/listings/${l.name}`)}`}>Sign in</a> to
              install it.
            </p>
          )}
          <h2 id="ratings">Ratings</h2>
          <p>{stars(props.ratings)}</p>
          <ul class="plain" aria-labelledby="ratings">
            {[5, 4, 3, 2, 1].map((s) => {
              const n = dist[String(s)] ?? 0;
              return (
                <li class="bar">
                  <span>{`${s} star${s === 1 ? "" : "s"}`}</span>
                  <svg
                    width="120"
                    height="10"
                    role="img"
                    aria-label={`${n} rating${n === 1 ? "" : "s"} of ${s} stars`}
                  >
                    <rect width="120" height="10" rx="5" fill="#f3f5f8" stroke="#d5dae1" />
                    <rect
                      width={String(Math.round((n / total) * 120))}
                      height="10"
                      rx="5"
                      fill="#0b57d0"
                    />
                  </svg>
                  <span>{n}</span>
                </li>
              );
            })}
          </ul>
          {props.eligibility?.eligible ? (
            <form method="post" action={`/listings/${l.name}/rate`}>
              <input type="hidden" name="csrf" value={props.viewer.csrf ?? ""} />
              <div class="field">
                <label for="stars">Your rating</label>
                <select id="stars" name="stars" aria-describedby={described("stars")}>
                  {[5, 4, 3, 2, 1].map((s) => (
                    <option value={String(s)} selected={v.stars === String(s)}>
                      {`${s} star${s === 1 ? "" : "s"}`}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="review">Review (optional)</label>
                <textarea id="review" name="review" rows={3} maxlength={5000}>
                  {v.review ?? ""}
                </textarea>
              </div>
              {fe.stars ? (
                <p class="error" id="stars-error">
                  {fe.stars}
                </p>
              ) : null}
              <p>
                <button type="submit">Rate it</button>
              </p>
            </form>
          ) : props.eligibility?.detail ? (
            <p class="muted" id="rating-eligibility">
              {props.eligibility.detail}
            </p>
          ) : null}
        </aside>
      </div>
      <h2 id="reviews">Reviews</h2>
      {props.ratings.reviews.filter((r) => r.review).length === 0 ? (
        <p class="muted">No reviews yet.</p>
      ) : null}
      <ul aria-labelledby="reviews">
        {props.ratings.reviews
          .filter((r) => r.review)
          .map((r) => (
            <li>
              <strong>{`${r.stars} of 5`}</strong> — {r.review}{" "}
              <span class="muted">({r.author})</span>
              {r.reply ? (
                <p class="muted">Publisher: {r.reply}</p>
              ) : ownListing ? (
                <form method="post" action={`/listings/${l.name}/reviews/${r.id}/reply`}>
                  <input type="hidden" name="csrf" value={props.viewer.csrf ?? ""} />
                  <div class="field">
                    <label for={`reply-${r.id}`}>{`Reply to ${r.author}'s review`}</label>
                    <textarea
                      id={`reply-${r.id}`}
                      name="text"
                      rows={2}
                      maxlength={5000}
                      aria-describedby={described(`reply-${r.id}`)}
                    >
                      {v.reply?.id === r.id ? v.reply.text : ""}
                    </textarea>
                    {fe[`reply-${r.id}`] ? (
                      <p class="error" id={`reply-${r.id}-error`}>
                        {fe[`reply-${r.id}`]}
                      </p>
                    ) : null}
                  </div>
                  <button class="secondary" type="submit">
                    Reply
                  </button>
                </form>
              ) : null}
            </li>
          ))}
      </ul>
    </Layout>
  );
}

/** The confirmation step of a purchase: what is bought, for how much, charged to what. */
export function BuyConfirmPage(props: {
  viewer: Viewer;
  listing: ListingCard;
  payWith: "card" | "token";
  token: string;
  cardOnFile: string | null;
  idempotencyKey: string;
}) {
  const l = props.listing;
  const charged =
    props.payWith === "card" ? `the card on file (${props.cardOnFile ?? "none"})` : props.token;
  return (
    <Layout title={`Buy ${l.displayName || l.name}`} viewer={props.viewer}>
      <p>
        <a href={`/listings/${l.name}`}>{l.displayName || l.name}</a> › Buy
      </p>
      <h1>Confirm your purchase</h1>
      <table>
        <tbody>
          <tr>
            <th scope="row">Listing</th>
            <td>
              {l.name} <span class="muted">by {l.publisher}</span>
            </td>
          </tr>
          <tr>
            <th scope="row">Price</th>
            <td id="confirm-price">{price(l.pricing)}</td>
          </tr>
          <tr>
            <th scope="row">Terms</th>
            <td>{priceTerms(l.pricing)}</td>
          </tr>
          <tr>
            <th scope="row">Charged to</th>
            <td id="confirm-method">{charged}</td>
          </tr>
        </tbody>
      </table>
      <form method="post" action={`/listings/${l.name}/buy/confirm`}>
        <input type="hidden" name="csrf" value={props.viewer.csrf ?? ""} />
        <input type="hidden" name="idempotencyKey" value={props.idempotencyKey} />
        <input type="hidden" name="payWith" value={props.payWith} />
        <input type="hidden" name="token" value={props.token} />
        <p>
          <button type="submit">{`Pay ${price(l.pricing)}`}</button>{" "}
          <a href={`/listings/${l.name}`}>Cancel</a>
        </p>
      </form>
      <p class="muted">
        Submitting twice (a double click, a reload) buys once: the form carries one idempotency key.
      </p>
    </Layout>
  );
}

/** A purchase whose first submission is still being processed when a second one came. */
export function BuyPendingPage(props: { viewer: Viewer; listing: string }) {
  return (
    <Layout title="Purchase in progress" viewer={props.viewer}>
      <h1>Your purchase is being processed</h1>
      <p>
        This form was already submitted and is still being charged; it will not be charged twice.
        See <a href="/dashboard/purchases">your purchases</a> in a moment, or go back to{" "}
        <a href={`/listings/${props.listing}`}>{props.listing}</a>.
      </p>
    </Layout>
  );
}

export function SignIn(props: { viewer: Viewer; next: string; formToken: string; error?: string }) {
  return (
    <Layout title="Sign in" viewer={props.viewer}>
      <h1>Sign in</h1>
      <p>
        Sign in with an API key of your organization (it stays on the server; the browser only gets
        a session cookie).
      </p>
      <form method="post" action="/signin">
        <input type="hidden" name="formToken" value={props.formToken} />
        <input type="hidden" name="next" value={props.next} />
        <div class="field">
          <label for="apiKey">API key</label>
          <input
            id="apiKey"
            name="apiKey"
            type="password"
            autocomplete="off"
            required
            size={48}
            aria-describedby={props.error ? "apiKey-error" : undefined}
            aria-invalid={props.error ? "true" : undefined}
          />
          {props.error ? (
            <p class="error" id="apiKey-error">
              {props.error}
            </p>
          ) : null}
        </div>
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
      <p class="muted">
        No organization yet? <a href="/signup">Create one</a>.
      </p>
    </Layout>
  );
}

export function Portal(props: { viewer: Viewer; tutorials: TutorialsBody["tutorials"] }) {
  return (
    <Layout title="Developers" viewer={props.viewer}>
      <h1>Developers</h1>
      <p>
        Build plugins with the SDK and the <code>atoll</code> CLI, call the platform from anywhere.
        The <a href="/docs">API reference</a> is generated from the same schemas the gateway
        validates with (<a href="/openapi.json">OpenAPI 3.1</a>).
      </p>
      <h2 id="sdks">Client libraries</h2>
      <ul aria-labelledby="sdks">
        <li>
          <a href="/v1/portal/sdks/typescript">TypeScript</a> — fetch-based, no dependencies
        </li>
        <li>
          <a href="/v1/portal/sdks/python">Python</a> — standard library only
        </li>
        <li>
          <a href="/v1/portal/sdks/java">Java</a> — JDK 17, java.net.http
        </li>
      </ul>
      <h2 id="tutorials">Tutorials</h2>
      <ol aria-labelledby="tutorials">
        {props.tutorials.map((t) => (
          <li>
            <a href={`/portal/tutorials/${t.slug}`}>{t.title}</a>{" "}
            <span class="tag">{t.difficulty}</span>
            <p class="muted">{t.summary}</p>
          </li>
        ))}
      </ol>
    </Layout>
  );
}

export function TutorialPage(props: {
  viewer: Viewer;
  title: string;
  difficulty: string;
  html: string;
}) {
  return (
    <Layout title={props.title} viewer={props.viewer}>
      <p>
        <a href="/portal">Developers</a> › Tutorials
      </p>
      <h1>{props.title}</h1>
      <p>
        <span class="tag">{props.difficulty}</span>
      </p>
      <article class="prose">{raw(props.html)}</article>
    </Layout>
  );
}

export function NotFoundPage(props: { viewer: Viewer }) {
  return (
    <Layout title="Not found" viewer={props.viewer}>
      <h1>This page does not exist</h1>
      <p>
        The address may be mistyped, or the listing was removed. Try the <a href="/">marketplace</a>{" "}
        or the <a href="/portal">developer portal</a>.
      </p>
    </Layout>
  );
}
