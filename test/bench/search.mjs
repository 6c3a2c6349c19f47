// Marketplace search over a generated catalogue of 10,000 listings (realistic, varied text),
// loaded straight into the local D1 the platform uses. Measures p50/p95 latency of a typical
// query, a filtered query and a category browse, one request at a time (no queueing in the
// figures). Goal: p95 ≤ 20 ms locally.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { wranglerSync } from "../../scripts/local-platform.mjs";

const WORDS =
  `invoice billing payment subscription checkout refund tax receipt ledger payout analytics dashboard metric chart report funnel cohort retention churn forecast crm contact lead deal pipeline account opportunity sync salesforce hubspot slack zapier webhook email newsletter campaign marketing seo social calendar meeting schedule task project kanban sprint issue ticket support helpdesk chat bot notification alert monitor uptime log trace security audit compliance backup export import csv spreadsheet pdf document signature form survey feedback review rating inventory order shipping warehouse product catalog store cart coupon discount loyalty reward translation localization image video upload storage search index cache queue worker cron automation workflow trigger integration api gateway auth login sso identity permission role team workspace`.split(
    " ",
  );
const CATEGORIES = [
  "analytics",
  "automation",
  "communication",
  "crm",
  "developer-tools",
  "marketing",
  "payments",
  "productivity",
  "security",
  "other",
];
const PRICING = [
  '{"model":"free"}',
  '{"model":"free"}',
  '{"model":"subscription","amount":900,"currency":"USD","interval":"month"}',
  '{"model":"one-time","amount":2500,"currency":"USD"}',
  '{"model":"usage","amount":1,"currency":"USD","unit":"call"}',
];

function rng(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
const sqlStr = (v) => `'${String(v).replace(/'/g, "''")}'`;

/**
 * Writes and applies the catalogue (10,000 listings of a "catalogue" organization) to the local D1
 * in `persistTo`, before the platform starts (workerd does not expect its SQLite files to change
 * under it).
 */
export function seedCatalogue({ persistTo, count = 10_000, dir }) {
  const orgId = "org_benchcatalogue00000";
  const slug = "catalogue";
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo]);
  const rand = rng(42);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const rows = [];
  const fts = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const id = `plg_bench${String(i).padStart(12, "0")}`;
    const short = `${pick(WORDS)}-${pick(WORDS)}-${i}`;
    const name = `@${slug}/${short}`;
    const display = short
      .split("-")
      .slice(0, 2)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join(" ");
    const summary = `${words(3)} for teams: ${words(8)}`;
    const description = `# ${display}\n\n${words(60)}`;
    const keywords = words(4);
    const pricing = pick(PRICING);
    const model = JSON.parse(pricing).model;
    const ratingCount = Math.floor(rand() * 50);
    const ratingSum = ratingCount * (1 + Math.floor(rand() * 5));
    rows.push(
      `(${sqlStr(id)},${sqlStr(name)},${sqlStr(orgId)},${sqlStr(pick(["plugin", "plugin", "plugin", "app", "template"]))},${now - i * 60_000},${sqlStr(display)},${sqlStr(summary)},${sqlStr(description)},${sqlStr(pick(CATEGORIES))},${sqlStr(keywords)},${sqlStr(pricing)},${sqlStr(model)},'1.0.0',1,${Math.floor(rand() * 5000)},${ratingCount},${ratingSum},${now})`,
    );
    fts.push(
      `(${sqlStr(id)},${sqlStr(name)},${sqlStr(display)},${sqlStr(summary)},${sqlStr(description)},${sqlStr(keywords)})`,
    );
  }
  const chunks = [
    `INSERT INTO organizations (id, slug, name, plan, created_at) VALUES ('${orgId}', '${slug}', 'Catalogue', 'free', ${now});`,
  ];
  for (let i = 0; i < rows.length; i += 50) {
    chunks.push(
      `INSERT INTO plugins (id,name,org_id,kind,created_at,display_name,summary,description,category,keywords,pricing,pricing_model,latest_version,listed,install_count,rating_count,rating_sum,updated_at) VALUES ${rows.slice(i, i + 50).join(",")};`,
    );
    chunks.push(
      `INSERT INTO listings_fts (plugin_id,name,display_name,summary,description,keywords) VALUES ${fts.slice(i, i + 50).join(",")};`,
    );
  }
  const file = join(dir, "catalogue.sql");
  writeFileSync(file, chunks.join("\n"));
  wranglerSync(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--file", file]);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** fetch, retried once when a kept-alive connection was closed by the server in between. */
async function get(url) {
  try {
    return await fetch(url);
  } catch {
    return fetch(url);
  }
}

export async function benchSearch(url, n = 200) {
  const queries = {
    typical: "/v1/marketplace/listings?q=invoice%20sync",
    filtered: "/v1/marketplace/listings?q=analytics&category=analytics&pricing=paid&sort=rating",
    browse: "/v1/marketplace/listings?category=crm&sort=installs",
  };
  const results = {};
  for (const [name, path] of Object.entries(queries)) {
    for (let i = 0; i < 20; i++) await (await get(url + path)).arrayBuffer();
    const times = [];
    let count = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const res = await get(url + path);
      const body = await res.json();
      times.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`${name}: ${res.status} ${JSON.stringify(body)}`);
      count = body.listings.length;
    }
    times.sort((a, b) => a - b);
    results[name] = {
      path,
      results: count,
      p50ms: +percentile(times, 50).toFixed(2),
      p95ms: +percentile(times, 95).toFixed(2),
    };
  }
  return results;
}
