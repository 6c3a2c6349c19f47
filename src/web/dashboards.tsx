/** Signed-in pages: sign-up, the tenant admin's dashboard, the publisher's and the operator's. */
import { BarChart } from "./chart";
import { Layout, type Viewer } from "./layout";
import { format as money } from "../contract/currency";
import type {
  ApiKeysBody,
  BalanceBody,
  ConnectionsBody,
  InstallationBody,
  PayoutStatementBody,
  PayoutsBody,
  PluginBody,
  PurchaseBody,
  ReportBody,
  ReviewQueueBody,
  SubscriptionBody,
} from "../api-types";

const Csrf = (props: { viewer: Viewer }) => (
  <input type="hidden" name="csrf" value={props.viewer.csrf ?? ""} />
);

export function SignUp(props: {
  viewer: Viewer;
  values: Record<string, string>;
  errors: Record<string, string>;
  formToken: string;
  error?: string | undefined;
}) {
  const field = (id: string, label: string, type = "text", extra: Record<string, string> = {}) => (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={id}
        type={type}
        value={props.values[id] ?? ""}
        required
        aria-invalid={props.errors[id] ? "true" : undefined}
        aria-describedby={props.errors[id] ? `${id}-error` : undefined}
        {...extra}
      />
      {props.errors[id] ? (
        <p class="error" id={`${id}-error`}>
          {props.errors[id]}
        </p>
      ) : null}
    </div>
  );
  return (
    <Layout title="Create an organization" viewer={props.viewer} alert={props.error}>
      <h1>Create an organization</h1>
      <p>
        Your organization installs plugins and can publish its own. You get an API key, shown once.
      </p>
      <form method="post" action="/signup">
        <input type="hidden" name="formToken" value={props.formToken} />
        {field("name", "Your name")}
        {field("email", "Email", "email", { autocomplete: "email" })}
        {field("organization", "Organization name")}
        {field("slug", "Organization handle (lower-case, used in @handle/plugin names)", "text", {
          pattern: "[a-z0-9][a-z0-9-]{1,37}[a-z0-9]",
        })}
        <p>
          <button type="submit">Create</button>
        </p>
      </form>
    </Layout>
  );
}

export function Welcome(props: { viewer: Viewer; apiKey: string; org: string }) {
  return (
    <Layout title="Welcome" viewer={props.viewer}>
      <h1>Welcome to Atoll, {props.org}</h1>
      <p>
        This is your API key. It is shown only now: keep it somewhere safe. You are signed in with
        it.
      </p>
      <p>
        <label for="new-key">API key</label>
        <input id="new-key" readonly value={props.apiKey} size={48} />
      </p>
      <p>
        <a class="button" href="/">
          Browse the marketplace
        </a>
      </p>
    </Layout>
  );
}

export type InstallationView = InstallationBody;

export function TenantDashboard(props: {
  viewer: Viewer;
  installations: InstallationView[];
  keys: ApiKeysBody["keys"];
  connections: ConnectionsBody["connections"];
  /** The platform's notices to the organization (a version it runs was revoked, …). */
  platformNotices?: { id: string; message: string; createdAt: string }[];
  notice?: string | undefined;
  error?: string | undefined;
  newKey?: string | undefined;
  keyError?: string | undefined;
  keyName?: string | undefined;
}) {
  const envs = ["production", "staging", "development"];
  return (
    <Layout title="Dashboard" viewer={props.viewer} notice={props.notice} alert={props.error}>
      <h1>Dashboard</h1>
      <p>
        <a href="/dashboard/purchases">Purchases and subscriptions</a> ·{" "}
        <a href="/publisher">Publisher dashboard</a> · <a href="/portal">Developer portal</a>
      </p>
      {props.platformNotices && props.platformNotices.length > 0 ? (
        <section aria-labelledby="platform-notices">
          <h2 id="platform-notices">Notices from the platform</h2>
          <ul>
            {props.platformNotices.map((n) => (
              <li>
                {n.createdAt.slice(0, 10)}: {n.message}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <h2 id="installations">Installations</h2>
      {envs.map((env) => {
        const rows = props.installations.filter((i) => i.environment === env);
        return (
          <section aria-labelledby={`env-${env}`}>
            <h3 id={`env-${env}`}>{env}</h3>
            {rows.length === 0 ? (
              <p class="muted">Nothing installed.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Plugin</th>
                    <th scope="col">Version</th>
                    <th scope="col">Granted</th>
                    <th scope="col">Endpoint</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((i) => (
                    <tr>
                      <td>
                        <a href={`/listings/${i.plugin}`}>{i.plugin}</a>
                      </td>
                      <td>{i.version}</td>
                      <td>
                        {i.grants.length === 0 ? (
                          <span class="muted">nothing</span>
                        ) : (
                          <ul>
                            {i.grants.map((g) => (
                              <li>
                                <code>{g.permission}</code> — {g.allows}
                              </li>
                            ))}
                          </ul>
                        )}
                      </td>
                      <td>
                        <code>{i.endpoint}</code>
                      </td>
                      <td>
                        <form method="post" action={`/dashboard/installations/${i.id}/upgrade`}>
                          <Csrf viewer={props.viewer} />
                          <label for={`v-${i.id}`}>Version</label>{" "}
                          <input id={`v-${i.id}`} name="version" size={8} placeholder={i.version} />{" "}
                          <button class="secondary" type="submit">
                            Change
                          </button>
                        </form>
                        <form method="post" action={`/dashboard/installations/${i.id}/uninstall`}>
                          <Csrf viewer={props.viewer} />
                          <button
                            class="danger"
                            type="submit"
                            aria-label={`Uninstall ${i.plugin} from ${env}`}
                          >
                            Uninstall
                          </button>
                        </form>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        );
      })}
      <h2 id="keys">API keys</h2>
      {props.newKey ? (
        <p class="notice" role="status">
          <label for="created-key">Your new key (shown only now)</label>{" "}
          <input id="created-key" readonly value={props.newKey} size={48} />
        </p>
      ) : null}
      <table aria-labelledby="keys">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Created</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.keys.map((k) => (
            <tr>
              <td>{k.name}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.createdAt.slice(0, 10)}</td>
              <td>{k.revokedAt ? "revoked" : "active"}</td>
              <td>
                {k.revokedAt ? null : (
                  <form method="post" action={`/dashboard/keys/${k.id}/revoke`}>
                    <Csrf viewer={props.viewer} />
                    <button class="danger" type="submit" aria-label={`Revoke the key ${k.name}`}>
                      Revoke
                    </button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action="/dashboard/keys">
        <Csrf viewer={props.viewer} />
        <div class="field">
          <label for="key-name">New key's name</label>
          <input
            id="key-name"
            name="name"
            required
            maxlength={100}
            value={props.keyError ? (props.keyName ?? "") : ""}
            aria-invalid={props.keyError ? "true" : undefined}
            aria-describedby={props.keyError ? "key-name-error" : undefined}
          />
          {props.keyError ? (
            <p class="error" id="key-name-error">
              {props.keyError}
            </p>
          ) : null}
        </div>
        <p>
          <button type="submit">Create a key</button>
        </p>
      </form>
      <h2 id="connections">Connections</h2>
      {props.connections.length === 0 ? (
        <p class="muted">No third-party services connected.</p>
      ) : null}
      <ul aria-labelledby="connections">
        {props.connections.map((c) => (
          <li>
            {c.name} ({c.provider}, {c.environment}) — {c.status}
            {c.status === "revoked" ? null : (
              <form
                class="inline"
                method="post"
                action={`/dashboard/connections/${c.id}/disconnect`}
              >
                <Csrf viewer={props.viewer} />{" "}
                <button
                  class="secondary"
                  type="submit"
                  aria-label={`Disconnect ${c.name} (${c.environment})`}
                >
                  Disconnect
                </button>
              </form>
            )}
          </li>
        ))}
      </ul>
      <p class="muted">
        Connect services with POST /v1/connections (see the tutorial "Connecting HubSpot and
        Slack").
      </p>
    </Layout>
  );
}

export type Report = ReportBody;

/**
 * What each chart plots, said in its title: `installs` counts new installations (uninstalls are
 * not subtracted), `revenue[].net` is what buyers paid less refunds (before the platform's fee),
 * `apiCalls` the metered calls of plugins and apps alike.
 */
export const CHART_TITLES = {
  installs: "Installs per day (new installations)",
  sales: (currency: string) => `Sales less refunds per day (${currency}, before the platform fee)`,
  calls: "Metered calls per day (plugins and apps)",
} as const;

export function PublisherDashboard(props: {
  viewer: Viewer;
  report: Report;
  versions: { listing: string; versions: PluginBody["versions"] }[];
  balances: BalanceBody["balances"];
  payouts: PayoutsBody["payouts"];
}) {
  const daily = props.report.growthTrends.daily;
  const currencies = [...new Set(daily.flatMap((d) => d.revenue.map((r) => r.currency)))];
  return (
    <Layout title="Publisher" viewer={props.viewer}>
      <h1>Publisher dashboard</h1>
      <p class="muted">The last 30 days, for your organization's listings.</p>
      <BarChart
        id="installs-chart"
        title={CHART_TITLES.installs}
        points={daily.map((d) => ({ label: d.period, value: d.installs }))}
      />
      {currencies.map((cur) => (
        <BarChart
          id={`revenue-chart-${cur}`}
          title={CHART_TITLES.sales(cur)}
          points={daily.map((d) => ({
            label: d.period,
            value: d.revenue.find((r) => r.currency === cur)?.net ?? 0,
          }))}
          format={(n) => money(n, cur)}
        />
      ))}
      <h2 id="listings">Listings</h2>
      <table aria-labelledby="listings">
        <thead>
          <tr>
            <th scope="col">Listing</th>
            <th scope="col">Installs</th>
            <th scope="col">Versions (review state)</th>
          </tr>
        </thead>
        <tbody>
          {[...props.report.topPlugins.byInstalls, ...props.report.topApps.byInstalls].map((l) => (
            <tr>
              <td>
                <a href={`/listings/${l.listing}`}>{l.listing}</a>
              </td>
              <td>{l.installs}</td>
              <td>
                {(props.versions.find((v) => v.listing === l.listing)?.versions ?? []).map((v) => (
                  <span class="tag">
                    {v.version}: {v.status}
                    {v.reviewNote ? ` (${v.reviewNote})` : ""}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2 id="balance">Balance and payouts</h2>
      <ul aria-labelledby="balance">
        {props.balances.map((b) => (
          <li>
            {money(b.available, b.currency)} available · {money(b.paidOut, b.currency)} paid out
          </li>
        ))}
      </ul>
      <table>
        <thead>
          <tr>
            <th scope="col">Payout</th>
            <th scope="col">Amount</th>
            <th scope="col">Status</th>
            <th scope="col">Date</th>
          </tr>
        </thead>
        <tbody>
          {props.payouts.map((p) => (
            <tr>
              <td>
                <a href={`/publisher/payouts/${p.id}`}>{p.id}</a>
              </td>
              <td>{money(p.amount, p.currency)}</td>
              <td>{p.status}</td>
              <td>{p.createdAt.slice(0, 10)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}

export function OperatorPage(props: {
  viewer: Viewer;
  queue: ReviewQueueBody["versions"];
  report: Report;
  notice?: string | undefined;
  error?: string | undefined;
  /** What was typed into the operator's forms, kept after an error. */
  values?: Record<string, string>;
}) {
  const daily = props.report.growthTrends.daily;
  const v = props.values ?? {};
  return (
    <Layout title="Operator" viewer={props.viewer} notice={props.notice} alert={props.error}>
      <h1>Operator</h1>
      <h2 id="queue">Review queue</h2>
      {props.queue.length === 0 ? <p class="muted">Nothing waits for review.</p> : null}
      <ul aria-labelledby="queue">
        {props.queue.map((q) => (
          <li>
            <strong>
              {q.plugin}@{q.version}
            </strong>{" "}
            <span class="muted">submitted {q.submittedAt.slice(0, 10)}</span>
            <ul>
              {q.permissions.map((p) => (
                <li>
                  <code>{p.permission}</code> — {p.allows}
                </li>
              ))}
            </ul>
            <form method="post" action={`/operator/versions/${q.versionId}/decision`}>
              <Csrf viewer={props.viewer} />
              <label for={`reason-${q.versionId}`}>Reason (for a rejection)</label>{" "}
              <input
                id={`reason-${q.versionId}`}
                name="reason"
                maxlength={1000}
                value={v.versionId === q.versionId ? (v.reason ?? "") : ""}
              />{" "}
              <button
                type="submit"
                name="decision"
                value="approve"
                aria-label={`Approve ${q.plugin}@${q.version}`}
              >
                Approve
              </button>{" "}
              <button
                class="danger"
                type="submit"
                name="decision"
                value="reject"
                aria-label={`Reject ${q.plugin}@${q.version}`}
              >
                Reject
              </button>
            </form>
          </li>
        ))}
      </ul>
      <h2 id="report">Ecosystem (30 days)</h2>
      <p>
        {props.report.metrics.activeInstalls} active installs · {props.report.metrics.installs}{" "}
        installs · {props.report.metrics.apiCalls} API calls ·{" "}
        {props.report.metrics.revenue.map((r) => `${money(r.net, r.currency)} net`).join(", ") ||
          "no revenue"}
      </p>
      <BarChart
        id="platform-installs"
        title={CHART_TITLES.installs}
        points={daily.map((d) => ({ label: d.period, value: d.installs }))}
      />
      <BarChart
        id="platform-calls"
        title={CHART_TITLES.calls}
        points={daily.map((d) => ({ label: d.period, value: d.apiCalls }))}
      />
      <h2 id="moderation">Moderation</h2>
      <form method="post" action="/operator/suspend">
        <Csrf viewer={props.viewer} />
        <div class="field">
          <label for="listing">Listing to suspend (@scope/name)</label>
          <input
            id="listing"
            name="listing"
            pattern="@[a-z0-9-]+/[a-z0-9._-]+"
            required
            value={v.suspend ?? ""}
          />
        </div>
        <div class="field">
          <label for="suspend-reason">Reason</label>
          <input
            id="suspend-reason"
            name="reason"
            required
            maxlength={1000}
            value={v.suspendReason ?? ""}
          />
        </div>
        <p>
          <button class="danger" type="submit">
            Suspend
          </button>
        </p>
      </form>
      <form method="post" action="/operator/unsuspend">
        <Csrf viewer={props.viewer} />
        <div class="field">
          <label for="lift-listing">Listing whose suspension to lift (@scope/name)</label>
          <input
            id="lift-listing"
            name="listing"
            pattern="@[a-z0-9-]+/[a-z0-9._-]+"
            required
            value={v.lift ?? ""}
          />
        </div>
        <p>
          <button type="submit">Lift the suspension</button>
        </p>
      </form>
    </Layout>
  );
}

export function StatementPage(props: { viewer: Viewer; payout: PayoutStatementBody }) {
  const p = props.payout;
  return (
    <Layout title={`Payout ${p.id}`} viewer={props.viewer}>
      <p>
        <a href="/publisher">Publisher dashboard</a> › Payout
      </p>
      <h1>Payout statement</h1>
      <p>
        <code>{p.id}</code> · {money(p.amount, p.currency)} · {p.status} ·{" "}
        {p.createdAt.slice(0, 10)}
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Kind</th>
            <th scope="col">What</th>
            <th scope="col">Amount</th>
          </tr>
        </thead>
        <tbody>
          {p.statement.map((l) => (
            <tr>
              <td>{l.at.slice(0, 10)}</td>
              <td>{l.kind}</td>
              <td>{l.memo}</td>
              <td>{money(l.amount, p.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colspan={3}>
              Balance after the payout
            </th>
            <td>{money(p.total, p.currency)}</td>
          </tr>
        </tfoot>
      </table>
    </Layout>
  );
}

/** The buyer's purchases and subscriptions, with cancel. */
export function PurchasesPage(props: {
  viewer: Viewer;
  purchases: PurchaseBody[];
  subscriptions: SubscriptionBody[];
  notice?: string | undefined;
  error?: string | undefined;
}) {
  return (
    <Layout title="Purchases" viewer={props.viewer} notice={props.notice} alert={props.error}>
      <p>
        <a href="/dashboard">Dashboard</a> › Purchases
      </p>
      <h1>Purchases and subscriptions</h1>
      <h2 id="purchases">Purchases</h2>
      {props.purchases.length === 0 ? (
        <p class="muted">
          Nothing bought yet: paid listings in the <a href="/">marketplace</a> have a Buy button.
        </p>
      ) : (
        <table aria-labelledby="purchases">
          <thead>
            <tr>
              <th scope="col">Listing</th>
              <th scope="col">Kind</th>
              <th scope="col">Amount</th>
              <th scope="col">Status</th>
              <th scope="col">Date</th>
            </tr>
          </thead>
          <tbody>
            {props.purchases.map((p) => (
              <tr id={p.id}>
                <td>
                  <a href={`/listings/${p.listing}`}>{p.listing}</a>
                </td>
                <td>{p.kind.replace("_", "-")}</td>
                <td>
                  {p.display}
                  {p.refunded > 0 ? ` (${money(p.refunded, p.currency)} refunded)` : ""}
                </td>
                <td>{p.status.replace("_", " ")}</td>
                <td>{p.createdAt.slice(0, 10)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2 id="subscriptions">Subscriptions</h2>
      {props.subscriptions.length === 0 ? <p class="muted">No subscriptions.</p> : null}
      <ul aria-labelledby="subscriptions">
        {props.subscriptions.map((s) => {
          const running =
            (s.status === "active" || s.status === "past_due") && !s.cancelAtPeriodEnd;
          return (
            <li id={s.id}>
              <a href={`/listings/${s.listing}`}>{s.listing}</a> — {money(s.amount, s.currency)}
              {s.billing === "usage" ? ` per ${s.per ?? 1} calls` : ` / ${s.billing}`} ·{" "}
              <span class="sub-status">
                {running
                  ? `${s.status.replace("_", " ")}, renews ${s.currentPeriodEnd.slice(0, 10)}`
                  : s.cancelAtPeriodEnd && s.status === "active"
                    ? `canceled: access until ${s.currentPeriodEnd.slice(0, 10)}`
                    : s.status}
              </span>
              {running ? (
                <form
                  class="inline"
                  method="post"
                  action={`/dashboard/subscriptions/${s.id}/cancel`}
                >
                  <Csrf viewer={props.viewer} />{" "}
                  <button
                    class="danger"
                    type="submit"
                    aria-label={`Cancel the subscription to ${s.listing}`}
                  >
                    Cancel
                  </button>
                </form>
              ) : null}
            </li>
          );
        })}
      </ul>
    </Layout>
  );
}
