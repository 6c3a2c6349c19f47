/** Marketplace, listing, sign-in and portal pages (server-rendered; no script needed). */
import { raw } from "hono/html";
import { Layout, type Viewer } from "./layout";
import { format, isCurrency } from "../contract/currency";

export interface ListingCard {
  name: string;
  kind: string;
  displayName: string;
  summary: string;
  category: string;
  pricing: { model: string; amount?: number; currency?: string; interval?: string };
  publisher: string;
  publisherVerified: boolean;
  installs: number;
  rating: { average: number | null; count: number };
}

export function price(p: ListingCard["pricing"]): string {
  if (p.model === "free" || p.amount === undefined || !p.currency || !isCurrency(p.currency))
    return "Free";
  return `${format(p.amount, p.currency)}${p.model === "subscription" ? ` / ${p.interval ?? "month"}` : p.model === "usage" ? " per use" : ""}`;
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
  categories: { id: string; label: string; listings: number }[];
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
                {c.label}
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
              >{`${c.label} (${c.listings})`}</a>
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

export interface ListingPageData extends ListingCard {
  description: string;
  descriptionHtml: string;
  permissions: { permission: string; allows: string }[];
  versions: { version: string; installs: number; createdAt: string }[];
  latestVersion: string | null;
  homepage: string | null;
  routes?: {
    method: string;
    path: string;
    summary?: string;
    limit?: { requests: number; window: number };
  }[];
}

/** A route's limit in words: "60 per minute", "1000 per 3600 s". */
function limitText(limit: { requests: number; window: number } | undefined): string {
  if (!limit) return "The plan's";
  const unit = { 1: "second", 60: "minute", 3600: "hour", 86400: "day" }[limit.window];
  return `${limit.requests} per ${unit ?? `${limit.window} s`}`;
}

export function ListingPage(props: {
  viewer: Viewer;
  listing: ListingPageData;
  ratings: {
    average: number | null;
    count: number;
    distribution: Record<string, number>;
    reviews: { stars: number; review: string | null; reply?: string | null; updatedAt?: string }[];
  };
  notice?: string | undefined;
  error?: string | undefined;
  fieldErrors?: Record<string, string>;
}) {
  const l = props.listing;
  const dist = props.ratings.distribution;
  const total = Math.max(1, props.ratings.count);
  const fe = props.fieldErrors ?? {};
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
              </tr>
            </thead>
            <tbody>
              {l.versions.map((v) => (
                <tr>
                  <td>{v.version}</td>
                  <td>{v.createdAt.slice(0, 10)}</td>
                  <td>{v.installs}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <aside aria-labelledby="install">
          <h2 id="install">Install</h2>
          {props.viewer.signedIn ? (
            <form method="post" action={`/listings/${l.name}/install`}>
              <input type="hidden" name="csrf" value={props.viewer.csrf ?? ""} />
              <div class="field">
                <label for="environment">Environment</label>
                <select id="environment" name="environment">
                  <option value="development">development</option>
                  <option value="staging">staging</option>
                  <option value="production">production</option>
                </select>
              </div>
              {l.permissions.length > 0 ? (
                <fieldset>
                  <legend>Grant its permissions</legend>
                  {l.permissions.map((p, i) => (
                    <div>
                      <input type="checkbox" id={`grant-${i}`} name="grants" value={p.permission} />
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
          {props.viewer.signedIn ? (
            <form method="post" action={`/listings/${l.name}/rate`}>
              <input type="hidden" name="csrf" value={props.viewer.csrf ?? ""} />
              <div class="field">
                <label for="stars">Your rating</label>
                <select
                  id="stars"
                  name="stars"
                  aria-describedby={fe.stars ? "stars-error" : undefined}
                >
                  {[5, 4, 3, 2, 1].map((s) => (
                    <option value={String(s)}>{`${s} star${s === 1 ? "" : "s"}`}</option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="review">Review (optional)</label>
                <textarea id="review" name="review" rows={3} maxlength={2000}></textarea>
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
              <strong>{`${r.stars} of 5`}</strong> — {r.review}
              {r.reply ? <p class="muted">Publisher: {r.reply}</p> : null}
            </li>
          ))}
      </ul>
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

export function Portal(props: {
  viewer: Viewer;
  tutorials: { slug: string; title: string; difficulty: string; summary: string }[];
}) {
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
