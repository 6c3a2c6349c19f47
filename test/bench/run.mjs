// `npm run bench`: the gateway's hot path, measured side by side in one run on the real local
// platform (wrangler dev, request logging off). Prints req/s, p50/p99 latency and each scenario's
// ratio to the bare route; writes the figures to test/bench/results/latest.json.
//
// Scenarios are interleaved over several rounds (bare, jwt, apikey, …, bare, jwt, …) and each
// figure is the median of its rounds, so drift on the machine hits every scenario alike.
// Env: BENCH_PLUGIN_BACKEND (loader | service; default loader), BENCH_DURATION (s per scenario per round, default 5), BENCH_ROUNDS (default 4),
// BENCH_CONNECTIONS (default 10), BENCH_CLIENT (wrk | autocannon; default wrk when installed).
// wrk (Debian: apt-get install wrk) is the better load generator on a 2-core machine: it costs
// far less CPU per request than autocannon, which runs in Node beside workerd.
import autocannon from "autocannon";
import { execFileSync, spawnSync } from "node:child_process";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startPlatformOnFreePorts } from "../../scripts/local-platform.mjs";
import { benchAdmit } from "./admit.mjs";
import { benchSearch, seedCatalogue } from "./search.mjs";

const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const OPERATOR = "bench-operator-key-0123456789";

async function post(url, path, body, headers = {}) {
  const res = await fetch(url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const hasWrk = spawnSync("wrk", ["--version"]).error === undefined;
const client = process.env.BENCH_CLIENT ?? (hasWrk ? "wrk" : "autocannon");
const luaDir = mkdtempSync(join(tmpdir(), "atoll-wrk-"));

/** Runs one measurement; returns { rps, p50, p99, total, ok } where ok counts expected statuses. */
function run(url, opts, expectStatus = 200) {
  return client === "wrk"
    ? runWrk(url, opts, expectStatus)
    : runAutocannon(url, opts, expectStatus);
}

function runAutocannon(url, opts, expectStatus) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration, ...opts }, (err, r) => {
      if (err) return reject(err);
      resolve({
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        total: r.requests.total,
        ok: expectStatus === 200 ? r["2xx"] : r["non2xx"],
        errors: r.errors + r.timeouts,
      });
    });
  });
}

function runWrk(url, opts, expectStatus) {
  // A Lua script sends the scenario's requests in rotation and counts the expected status.
  const reqs = opts.requests ?? [
    {
      method: opts.method ?? "GET",
      path: new URL(opts.url).pathname,
      headers: opts.headers ?? {},
      body: opts.body,
    },
  ];
  const script = join(luaDir, "scenario.lua");
  const host = new URL(url).host;
  const lua = (v) => JSON.stringify(v); // a JSON string literal is a valid Lua string literal here (no control characters)
  const lines = reqs.map(
    (r, i) =>
      `reqs[${i + 1}] = wrk.format(${lua(r.method)}, ${lua(r.path)}, {${Object.entries({
        Host: host,
        ...(r.headers ?? {}),
      })
        .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
        .join(", ")}}${r.body ? `, ${lua(r.body)}` : ""})`,
  );
  writeFileSync(
    script,
    `reqs = {}\n${lines.join("\n")}\nlocal i = 0\nrequest = function() i = i % #reqs + 1; return reqs[i] end\n` +
      `local okc = 0\nlocal firstBad = nil\nresponse = function(status, headers, body) if status == ${expectStatus} then okc = okc + 1 elseif firstBad == nil then firstBad = status .. " " .. string.sub(body or "", 1, 200); io.write("UNEXPECTED " .. firstBad .. "\\n") end end\n` +
      `done = function(summary, latency, requests) io.write(string.format("ATOLL %d %d %.3f %.3f\\n", summary.requests, 0, latency:percentile(50) / 1000, latency:percentile(99) / 1000)) if firstBad then io.write("UNEXPECTED " .. firstBad .. "\\n") end end\n`,
  );
  const out = execFileSync(
    "wrk",
    [
      "-t1",
      `-c${connections}`,
      `-d${opts.duration ?? duration}s`,
      "-s",
      script,
      new URL(url).origin,
    ],
    { encoding: "utf8" },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /ATOLL (\d+) \d+ ([\d.]+) ([\d.]+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const total = Number(m?.[1] ?? 0);
  if (!m) console.log(`    (wrk printed no summary line:)\n${out}`);
  const unexpected = /UNEXPECTED (.*)/.exec(out)?.[1];
  if (unexpected) console.log(`    (unexpected answer: ${unexpected})`);
  return {
    rps,
    p50: Number(m?.[2] ?? 0),
    p99: Number(m?.[3] ?? 0),
    total,
    ok: expectStatus === 200 ? total - non2xx : non2xx,
    errors: 0,
  };
}

const state = mkdtempSync(join(tmpdir(), "atoll-bench-"));
console.log("Starting the platform (logging off)…");
// "loader" runs plugin isolates in the gateway's process, as production's dispatch namespace runs
// them beside the dispatcher; "service" measures the local two-process setup of npm start.
const pluginBackend = process.env.BENCH_PLUGIN_BACKEND ?? "loader";
console.log("Loading a 10,000-listing catalogue for the search benchmark…");
seedCatalogue({ persistTo: state, dir: luaDir });
const platform = await startPlatformOnFreePorts({
  persistTo: state,
  logLevel: "error",
  pluginBackend,
  vars: {
    ATOLL_REQUEST_LOG: "off",
    ATOLL_OPERATOR_KEY: OPERATOR,
    ATOLL_ANON_RATE_LIMIT: "100000/60",
  },
});
const url = platform.url;
try {
  // A bench organization on the enterprise plan (so that admitted requests are measured) and a
  // free one whose key is exhausted (the 429 path).
  const org = await post(url, "/v1/signup", {
    email: "bench@atoll.local",
    name: "Bench",
    organization: { name: "Bench", slug: "bench" },
  });
  await fetch(`${url}/v1/operator/organizations/${org.organization.id}/plan`, {
    method: "PUT",
    headers: { "content-type": "application/json", "x-api-key": OPERATOR },
    body: JSON.stringify({ plan: "enterprise" }),
  });
  const jwtKey = await post(
    url,
    "/v1/api-keys",
    { name: "jwt-client" },
    { "x-api-key": org.apiKey },
  );
  const tokenRes = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: jwtKey.id,
      client_secret: jwtKey.key,
    }),
  });
  const { access_token: jwt } = await tokenRes.json();
  // The hello plugin, built by the CLI and published under the bench organization's scope.
  const built = spawnSync(
    process.execPath,
    [join(ROOT, "packages", "cli", "bin", "atoll.mjs"), "build", join(ROOT, "plugins", "hello")],
    { encoding: "utf8" },
  );
  if (built.status !== 0) throw new Error(`building hello failed: ${built.stderr}`);
  const helloZip = new Uint8Array(
    readFileSync(join(ROOT, "plugins", "hello", "dist", "hello-1.0.0.zip")),
  );
  // `routes: "declared"`: hello's routes, /hello/{name} with a parameter schema (the gateway
  // matches the route and validates before the isolate); "open": no routes declared (every path
  // goes through unmatched) — the pair measures route matching and validation.
  const repack = (version, salt, routes = "declared", name = "@bench/hello") => {
    const files = unzipSync(helloZip);
    const m = JSON.parse(strFromU8(files["manifest.json"]));
    const declared = m.routes.map((r) =>
      r.path === "/hello/{name}"
        ? { ...r, params: { name: { type: "string", minLength: 1, maxLength: 64 } } }
        : r,
    );
    const { routes: _routes, ...rest } = m;
    files["manifest.json"] = strToU8(
      JSON.stringify({
        ...rest,
        name,
        version,
        ...(routes === "declared" ? { routes: declared } : {}),
      }),
    );
    files["index.js"] = strToU8(strFromU8(files["index.js"]) + `\n// ${salt}\n`);
    return zipSync(files);
  };
  const keyHeaders = { "x-api-key": org.apiKey };
  const publishHello = async (version, salt, routes, name) => {
    const r = await fetch(`${url}/v1/packages`, {
      method: "POST",
      headers: { ...keyHeaders, "content-type": "application/zip" },
      body: repack(version, salt, routes, name),
    });
    if (r.status !== 201) throw new Error(`publish: ${r.status} ${await r.text()}`);
  };
  const installHello = async (version, environment, plugin = "@bench/hello") => {
    const r = await fetch(`${url}/v1/installations`, {
      method: "POST",
      headers: { ...keyHeaders, "content-type": "application/json" },
      body: JSON.stringify({ plugin, version, environment, grants: ["storage"] }),
    });
    if (r.status !== 201) throw new Error(`install: ${r.status} ${await r.text()}`);
    return r.json();
  };
  // Cold load: the first request after installing a package the gateway has never loaded
  // (a new SHA-256 each time: R2 read, hash check, unzip, new isolate).
  const cold = [];
  for (let i = 1; i <= 5; i++) {
    await publishHello(`0.0.${i}`, `cold-${i}-${Date.now()}`);
    const inst = await installHello(`0.0.${i}`, "staging");
    const t0 = performance.now();
    const r = await fetch(`${url}${inst.endpoint}/hello/cold`, { headers: keyHeaders });
    await r.arrayBuffer();
    cold.push(performance.now() - t0);
    await fetch(`${url}/v1/installations/${inst.id}`, { method: "DELETE", headers: keyHeaders });
  }
  await publishHello("1.0.0", "warm");
  const warm = await installHello("1.0.0", "production");
  await publishHello("1.0.0", "open", "open", "@bench/hello-open");
  const open = await installHello("1.0.0", "production", "@bench/hello-open");
  for (let i = 0; i < 20; i++) {
    await (await fetch(`${url}${warm.endpoint}/hello/warm`, { headers: keyHeaders })).arrayBuffer();
    await (await fetch(`${url}${open.endpoint}/hello/warm`, { headers: keyHeaders })).arrayBuffer();
  }

  const free = await post(url, "/v1/signup", {
    email: "free@atoll.local",
    name: "Free",
    organization: { name: "Free", slug: "free-bench" },
  });
  for (let i = 0; i < 61; i++)
    await (await fetch(`${url}/v1/me`, { headers: { "x-api-key": free.apiKey } })).arrayBuffer();

  const scenarios = [
    { name: "bare", what: "GET /healthz (no auth)", opts: { url: `${url}/healthz` } },
    {
      name: "jwt",
      what: "GET /v1/me, Bearer JWT (EdDSA verify + lease rate limit)",
      opts: { url: `${url}/v1/me`, headers: { authorization: `Bearer ${jwt}` } },
    },
    {
      name: "apikey",
      what: "GET /v1/me, X-API-Key (checksum + SHA-256 + cache + lease rate limit)",
      opts: { url: `${url}/v1/me`, headers: { "x-api-key": org.apiKey } },
    },
    {
      name: "plugin-route",
      what: "GET {endpoint}/hello/{name} on a warm plugin (auth + limits + route match + validation + isolate)",
      opts: { url: `${url}${warm.endpoint}/hello/bench`, headers: { "x-api-key": org.apiKey } },
    },
    {
      name: "plugin-open",
      what: "the same plugin declaring no routes (no matching, no validation)",
      opts: { url: `${url}${open.endpoint}/hello/bench`, headers: { "x-api-key": org.apiKey } },
    },
    {
      name: "execute",
      what: "POST /v1/installations/{id}/execute on a warm plugin",
      opts: {
        url: `${url}/v1/installations/${warm.id}/execute`,
        method: "POST",
        headers: { "x-api-key": org.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ input: { name: "bench" } }),
      },
    },
    {
      name: "ratelimited",
      what: "GET /v1/me on an exhausted free key (429 path)",
      opts: { url: `${url}/v1/me`, headers: { "x-api-key": free.apiKey } },
      expect: 429,
    },
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

  // Each scenario must answer what it is meant to measure before it is measured.
  for (const s of scenarios) {
    for (const r of s.opts.requests ?? [
      {
        method: s.opts.method ?? "GET",
        path: new URL(s.opts.url).pathname,
        headers: s.opts.headers,
        body: s.opts.body,
      },
    ]) {
      const res = await fetch(url + r.path, { method: r.method, headers: r.headers, body: r.body });
      const expected = s.expect ?? 200;
      if (res.status !== expected)
        throw new Error(
          `scenario ${s.name}: ${r.method} ${r.path} answered ${res.status}, not ${expected}: ${(await res.text()).slice(0, 300)}`,
        );
      await res.arrayBuffer();
    }
  }
  const samples = new Map(scenarios.map((s) => [s.name, []]));
  for (const s of scenarios) await run(s.opts.url, { ...s.opts, duration: 2 }, s.expect); // warm-up
  // Odd rounds run the scenarios in order, even rounds in reverse: a scenario's neighbours (what
  // ran just before it, what the machine is still doing) change, so order is not measured. An
  // A/A run (both plugin scenarios with identical manifests) differed by 22% in fixed order.
  for (let round = 1; round <= rounds; round++) {
    for (const s of round % 2 ? scenarios : [...scenarios].reverse()) {
      const r = await run(s.opts.url, s.opts, s.expect);
      samples.get(s.name).push(r);
      console.log(
        `  round ${round} ${s.name.padEnd(12)} ${String(Math.round(r.rps)).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms`,
      );
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

  console.log(
    `\nAtoll gateway benchmark (${client}) — ${connections} connections, ${rounds} interleaved rounds of ${duration} s per scenario (medians)\n`,
  );
  console.log("scenario       req/s   p50 ms  p99 ms  ratio  expected-status share");
  for (const r of results) {
    console.log(
      `${r.name.padEnd(12)} ${String(r.requestsPerSec).padStart(7)} ${String(r.p50ms).padStart(8)} ${String(r.p99ms).padStart(7)}  ${r.ratioToBare.toFixed(2).padStart(5)}  ${r.expectedStatusShare}`,
    );
  }
  // Marketplace search over the 10,000 generated listings loaded before start.
  const search = await benchSearch(url);
  console.log("marketplace search over 10,000 listings (sequential requests):");
  for (const [name, r] of Object.entries(search))
    console.log(
      `  ${name.padEnd(9)} p50 ${r.p50ms} ms  p95 ${r.p95ms} ms  (${r.results} results)  ${r.p95ms <= 20 ? "meets" : "misses"} p95 ≤ 20 ms`,
    );

  const coldSorted = [...cold].sort((a, b) => a - b);
  const coldLoad = {
    samples: cold.map((x) => +x.toFixed(1)),
    medianMs: +coldSorted[Math.floor(cold.length / 2)].toFixed(1),
    maxMs: +coldSorted.at(-1).toFixed(1),
  };
  console.log(
    `\ncold load (first request after installing a never-loaded package): median ${coldLoad.medianMs} ms, max ${coldLoad.maxMs} ms (${coldLoad.samples.join(", ")})`,
  );
  const goals = { jwt: 0.9, ratelimited: 0.85, apikey: 0.85, "plugin-route": 0.8 };
  console.log(
    `\nGoals: JWT route ≥ 0.90 of bare; rate-limited route ≥ 0.85; warm plugin route ≥ 0.80; cold load ≤ 50 ms (plugin backend: ${pluginBackend}).`,
  );
  console.log(
    `  cold load: ${coldLoad.medianMs} ms ${coldLoad.medianMs <= 50 ? "meets" : "misses"} 50`,
  );
  // Route matching and validation: the declared plugin route beside the same plugin declaring none.
  const declaredRps = results.find((x) => x.name === "plugin-route")?.requestsPerSec ?? 0;
  const openRps = results.find((x) => x.name === "plugin-open")?.requestsPerSec || 1;
  const admitCost = await benchAdmit(ROOT);
  // Its share of one warm plugin call: the extra time per call over the time one call takes at
  // saturation (1 / req/s of the same plugin declaring no routes).
  const routeCost = +((admitCost.declaredUs - admitCost.openUs) / (1e6 / openRps)).toFixed(4);
  console.log(
    `  route matching + validation: ${admitCost.declaredUs} µs per call (declared routes) vs ${admitCost.openUs} µs (none), ${(routeCost * 100).toFixed(2)}% of a warm plugin call (${Math.round(1e6 / openRps)} µs at saturation); goal ≤ 3%: ${routeCost <= 0.03 ? "meets" : "misses"}`,
  );
  console.log(
    `    (throughput pair, for reference: plugin-route / plugin-open = ${(declaredRps / openRps).toFixed(3)}; the machine's noise between two scenarios exceeds 3%)`,
  );
  for (const [name, goal] of Object.entries(goals)) {
    const r = results.find((x) => x.name === name);
    console.log(
      `  ${name}: ${r.ratioToBare} ${r.ratioToBare >= goal ? "meets" : "misses"} ${goal}`,
    );
  }
  const out = join(ROOT, "test", "bench", "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, "latest.json");
  writeFileSync(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        client,
        pluginBackend,
        coldLoad,
        search,
        connections,
        durationSec: duration,
        rounds,
        node: process.version,
        results,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nWritten to ${file}`);
} finally {
  await platform.stop();
  rmSync(state, { recursive: true, force: true });
  rmSync(luaDir, { recursive: true, force: true });
}
