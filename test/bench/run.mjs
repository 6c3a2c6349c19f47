// `npm run bench`: the gateway's hot path, measured side by side in one run on the real local
// platform (wrangler dev, request logging off). Prints req/s, p50/p99 latency and each scenario's
// ratio to the bare route; writes the figures to test/bench/results/latest.json.
//
// Scenarios are interleaved over several rounds (bare, jwt, apikey, …, bare, jwt, …) and each
// figure is the median of its rounds, so drift on the machine hits every scenario alike.
// Env: BENCH_DURATION (s per scenario per round, default 5), BENCH_ROUNDS (default 3),
// BENCH_CONNECTIONS (default 10), BENCH_CLIENT (wrk | autocannon; default wrk when installed).
// wrk (Debian: apt-get install wrk) is the better load generator on a 2-core machine: it costs
// far less CPU per request than autocannon, which runs in Node beside workerd.
import autocannon from "autocannon";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startPlatform } from "../../scripts/local-platform.mjs";

const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const OPERATOR = "bench-operator-key-0123456789";

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function post(url, path, body, headers = {}) {
  const res = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const hasWrk = spawnSync("wrk", ["--version"]).error === undefined;
const client = process.env.BENCH_CLIENT ?? (hasWrk ? "wrk" : "autocannon");
const luaDir = mkdtempSync(join(tmpdir(), "atoll-wrk-"));

/** Runs one measurement; returns { rps, p50, p99, total, ok } where ok counts expected statuses. */
function run(url, opts, expectStatus = 200) {
  return client === "wrk" ? runWrk(url, opts, expectStatus) : runAutocannon(url, opts, expectStatus);
}

function runAutocannon(url, opts, expectStatus) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration, ...opts }, (err, r) => {
      if (err) return reject(err);
      resolve({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, ok: expectStatus === 200 ? r["2xx"] : r["non2xx"], errors: r.errors + r.timeouts });
    });
  });
}

function runWrk(url, opts, expectStatus) {
  // A Lua script sends the scenario's requests in rotation and counts the expected status.
  const reqs = opts.requests ?? [{ method: "GET", path: new URL(opts.url).pathname, headers: opts.headers ?? {} }];
  const lua = join(luaDir, "scenario.lua");
  const host = new URL(url).host;
  const lines = reqs.map((r, i) => `reqs[${i + 1}] = wrk.format("${r.method}", "${r.path}", {${Object.entries({ Host: host, ...(r.headers ?? {}) }).map(([k, v]) => `["${k}"] = "${v}"`).join(", ")}})`);
  writeFileSync(
    lua,
    `reqs = {}\n${lines.join("\n")}\nlocal i = 0\nrequest = function() i = i % #reqs + 1; return reqs[i] end\n` +
      `local okc = 0\nresponse = function(status) if status == ${expectStatus} then okc = okc + 1 end end\n` +
      `done = function(summary, latency, requests) io.write(string.format("ATOLL %d %d %.3f %.3f\\n", summary.requests, 0, latency:percentile(50) / 1000, latency:percentile(99) / 1000)) end\n`,
  );
  const out = execFileSync("wrk", ["-t1", `-c${connections}`, `-d${opts.duration ?? duration}s`, "-s", lua, new URL(url).origin], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /ATOLL (\d+) \d+ ([\d.]+) ([\d.]+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const total = Number(m?.[1] ?? 0);
  return { rps, p50: Number(m?.[2] ?? 0), p99: Number(m?.[3] ?? 0), total, ok: expectStatus === 200 ? total - non2xx : non2xx, errors: 0 };
}

const state = mkdtempSync(join(tmpdir(), "atoll-bench-"));
const port = await freePort();
console.log(`Starting the platform (logging off) on port ${port}…`);
const platform = await startPlatform({ port, inspectorPort: await freePort(), persistTo: state, logLevel: "error", vars: { ATOLL_REQUEST_LOG: "off", ATOLL_OPERATOR_KEY: OPERATOR, ATOLL_ANON_RATE_LIMIT: "100000/60" } });
const url = platform.url;
try {
  // A bench organization on the enterprise plan (so that admitted requests are measured) and a
  // free one whose key is exhausted (the 429 path).
  const org = await post(url, "/v1/signup", { email: "bench@atoll.local", name: "Bench", organization: { name: "Bench", slug: "bench" } });
  await fetch(`${url}/v1/operator/organizations/${org.organization.id}/plan`, { method: "PUT", headers: { "content-type": "application/json", "x-api-key": OPERATOR }, body: JSON.stringify({ plan: "enterprise" }) });
  const jwtKey = await post(url, "/v1/api-keys", { name: "jwt-client" }, { "x-api-key": org.apiKey });
  const tokenRes = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: jwtKey.id, client_secret: jwtKey.key }),
  });
  const { access_token: jwt } = await tokenRes.json();
  const free = await post(url, "/v1/signup", { email: "free@atoll.local", name: "Free", organization: { name: "Free", slug: "free-bench" } });
  for (let i = 0; i < 61; i++) await (await fetch(`${url}/v1/me`, { headers: { "x-api-key": free.apiKey } })).arrayBuffer();

  const scenarios = [
    { name: "bare", what: "GET /healthz (no auth)", opts: { url: `${url}/healthz` } },
    { name: "jwt", what: "GET /v1/me, Bearer JWT (EdDSA verify + lease rate limit)", opts: { url: `${url}/v1/me`, headers: { authorization: `Bearer ${jwt}` } } },
    { name: "apikey", what: "GET /v1/me, X-API-Key (checksum + SHA-256 + cache + lease rate limit)", opts: { url: `${url}/v1/me`, headers: { "x-api-key": org.apiKey } } },
    { name: "ratelimited", what: "GET /v1/me on an exhausted free key (429 path)", opts: { url: `${url}/v1/me`, headers: { "x-api-key": free.apiKey } }, expect: 429 },
    {
      name: "mixed",
      what: "all of the above in rotation",
      opts: {
        url,
        requests: [
          { method: "GET", path: "/healthz" },
          { method: "GET", path: "/v1/me", headers: { authorization: `Bearer ${jwt}` } },
          { method: "GET", path: "/v1/me", headers: { "x-api-key": org.apiKey } },
        ],
      },
    },
  ];

  const samples = new Map(scenarios.map((s) => [s.name, []]));
  for (const s of scenarios) await run(s.opts.url, { ...s.opts, duration: 2 }, s.expect); // warm-up
  for (let round = 1; round <= rounds; round++) {
    for (const s of scenarios) {
      const r = await run(s.opts.url, s.opts, s.expect);
      samples.get(s.name).push(r);
      console.log(`  round ${round} ${s.name.padEnd(12)} ${String(Math.round(r.rps)).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = scenarios.map((s) => {
    const rs = samples.get(s.name);
    const total = rs.reduce((n, r) => n + r.total, 0);
    const ok = rs.reduce((n, r) => n + r.ok, 0);
    return {
      name: s.name,
      what: s.what,
      requestsPerSec: Math.round(median(rs.map((r) => r.rps))),
      p50ms: median(rs.map((r) => r.p50)),
      p99ms: median(rs.map((r) => r.p99)),
      rounds: rs.map((r) => Math.round(r.rps)),
      total,
      expectedStatusShare: total ? +(ok / total).toFixed(4) : 0,
      errors: rs.reduce((n, r) => n + r.errors, 0),
    };
  });
  const bare = results[0].requestsPerSec || 1;
  for (const r of results) r.ratioToBare = +(r.requestsPerSec / bare).toFixed(3);

  console.log(`\nAtoll gateway benchmark (${client}) — ${connections} connections, ${rounds} interleaved rounds of ${duration} s per scenario (medians)\n`);
  console.log("scenario       req/s   p50 ms  p99 ms  ratio  expected-status share");
  for (const r of results) {
    console.log(`${r.name.padEnd(12)} ${String(r.requestsPerSec).padStart(7)} ${String(r.p50ms).padStart(8)} ${String(r.p99ms).padStart(7)}  ${r.ratioToBare.toFixed(2).padStart(5)}  ${r.expectedStatusShare}`);
  }
  const goals = { jwt: 0.9, ratelimited: 0.85, apikey: 0.85 };
  console.log("\nGoals: JWT route ≥ 0.90 of bare; rate-limited route ≥ 0.85 of bare (every authenticated route is rate-limited).");
  for (const [name, goal] of Object.entries(goals)) {
    const r = results.find((x) => x.name === name);
    console.log(`  ${name}: ${r.ratioToBare} ${r.ratioToBare >= goal ? "meets" : "misses"} ${goal}`);
  }
  const out = join(ROOT, "test", "bench", "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, "latest.json");
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), client, connections, durationSec: duration, rounds, node: process.version, results }, null, 2) + "\n");
  console.log(`\nWritten to ${file}`);
} finally {
  await platform.stop();
  rmSync(state, { recursive: true, force: true });
  rmSync(luaDir, { recursive: true, force: true });
}
