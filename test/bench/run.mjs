// `npm run bench`: the gateway's hot path, measured side by side in one run on the real local
// platform, on both plugin backends and with request logging as `npm start` has it and off:
//
//   loader    plugin isolates in the gateway's process (the closest model of production's
//             dispatch namespace, which runs them beside the dispatcher);
//   service   the local plugin host in a second process, as `npm start` and every test of the
//             running platform have it.
//
// All four platforms (two backends × logging off / as npm start) are started first and measured
// in interleaved rounds (each round visits every platform and scenario; odd rounds in order, even
// rounds reversed), so drift on the machine hits every figure alike; each figure is the median of
// its rounds. Then a fixed-rate phase drives the bare route and the warm plugin route at the same
// rate (half the bare route's saturation throughput) with an open-loop sender, and reports
// p50/p90/p99 side by side. Prints ratios; writes test/bench/results/latest.json.
//
// Env: BENCH_BACKENDS (default "loader,service"), BENCH_DURATION (s per scenario per round,
// default 5), BENCH_ROUNDS (default 4), BENCH_CONNECTIONS (default 10), BENCH_FIXED_DURATION (s per
// fixed-rate sample, default 8), BENCH_CLIENT (wrk | autocannon; default wrk when installed).
// wrk (Debian: apt-get install wrk) is the better load generator on a 2-core machine: it costs
// far less CPU per request than autocannon, which runs in Node beside workerd.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startPlatformOnFreePorts } from "../../scripts/local-platform.mjs";
import { benchAdmit } from "./admit.mjs";
import { cpuPerRequest } from "./cpu.mjs";
import { cleanupLoad, client, fixedRate, requestsOf, saturate } from "./load.mjs";
import { benchSearch, seedCatalogue } from "./search.mjs";
import { OPERATOR, prepare } from "./setup.mjs";

const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const fixedDuration = Number(process.env.BENCH_FIXED_DURATION ?? 8);
const backends = (process.env.BENCH_BACKENDS ?? "loader,service").split(",");
/** With logging as npm start has it, the scenarios that show its cost. */
const LOGGED = ["bare", "apikey", "plugin-route"];
/** The scenarios whose CPU per request is broken down by process. */
const CPU_SCENARIOS = ["bare", "apikey", "plugin-route"];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const states = [];
const platforms = [];

async function start(backend, logging, { catalogue = false } = {}) {
  const state = mkdtempSync(join(tmpdir(), "atoll-bench-"));
  states.push(state);
  if (catalogue) {
    console.log("Loading a 10,000-listing catalogue for the search benchmark…");
    seedCatalogue({ persistTo: state, dir: state });
  }
  console.log(`Starting the platform: ${backend} backend, request logging ${logging}…`);
  const platform = await startPlatformOnFreePorts({
    persistTo: state,
    // "log" is npm start's level: wrangler prints the Worker's structured line per request.
    logLevel: logging === "on" ? "log" : "error",
    pluginBackend: backend,
    vars: {
      ATOLL_REQUEST_LOG: logging,
      ATOLL_OPERATOR_KEY: OPERATOR,
      ATOLL_ANON_RATE_LIMIT: "100000/60",
    },
  });
  platforms.push(platform);
  const { scenarios, cold } = await prepare(platform.url, {
    coldSamples: logging === "off" ? 5 : 0,
  });
  const kept = logging === "off" ? scenarios : scenarios.filter((s) => LOGGED.includes(s.name));
  // Each scenario must answer what it is meant to measure before it is measured.
  for (const s of kept)
    for (const r of requestsOf(s)) {
      const res = await fetch(platform.url + r.path, {
        method: r.method,
        headers: r.headers,
        body: r.body,
      });
      if (res.status !== (s.expect ?? 200))
        throw new Error(
          `scenario ${s.name} (${backend}, logging ${logging}): ${r.method} ${r.path} answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
        );
      await res.arrayBuffer();
    }
  return {
    backend,
    logging,
    url: platform.url,
    platform,
    scenarios: kept,
    cold,
    samples: new Map(),
  };
}

try {
  const targets = [];
  for (const [i, backend] of backends.entries()) {
    targets.push(await start(backend, "off", { catalogue: i === 0 }));
    targets.push(await start(backend, "on"));
  }
  const runs = targets.flatMap((t) => t.scenarios.map((s) => ({ t, s })));
  console.log("Warming up…");
  for (const { t, s } of runs) await saturate(t.url, s, { connections, duration: 1 });
  for (let round = 1; round <= rounds; round++) {
    for (const { t, s } of round % 2 ? runs : [...runs].reverse()) {
      const r = await saturate(t.url, s, { connections, duration });
      const list = t.samples.get(s.name) ?? [];
      list.push(r);
      t.samples.set(s.name, list);
      console.log(
        `  round ${round} ${t.backend.padEnd(7)} log ${t.logging.padEnd(3)} ${s.name.padEnd(12)} ${String(Math.round(r.rps)).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms`,
      );
    }
  }
  const summarize = (t) =>
    t.scenarios.map((s) => {
      const rs = t.samples.get(s.name);
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
  for (const t of targets) {
    t.results = summarize(t);
    const bare = t.results.find((r) => r.name === "bare").requestsPerSec || 1;
    for (const r of t.results) r.ratioToBare = +(r.requestsPerSec / bare).toFixed(3);
  }

  // Where the CPU goes: per request and process, one more saturated run of the routes compared.
  const cpu = [];
  for (const t of targets.filter((x) => x.logging === "off"))
    for (const name of CPU_SCENARIOS) {
      const s = t.scenarios.find((x) => x.name === name);
      const { requests, roles } = await cpuPerRequest(t.platform, async () => {
        const r = await saturate(t.url, s, { connections, duration });
        return r.total;
      });
      cpu.push({ backend: t.backend, scenario: name, requests, usPerRequest: roles });
    }

  // Fixed rate: bare and the warm plugin route side by side at the same rate — half the bare
  // route's saturation throughput (the goal's rate), and half the plugin route's (a rate both
  // routes sustain: where the first is beyond the plugin route's saturation, it measures a queue).
  const fixed = [];
  for (const t of targets.filter((x) => x.logging === "off")) {
    const sat = (n) => t.results.find((r) => r.name === n).requestsPerSec;
    const rates = [
      { basis: "half of bare", rate: Math.max(50, Math.round(sat("bare") / 2)) },
      { basis: "half of plugin", rate: Math.max(50, Math.round(sat("plugin-route") / 2)) },
    ];
    const pair = ["bare", "plugin-route"].map((n) => t.scenarios.find((s) => s.name === n));
    for (const { basis, rate } of rates) {
      const samples = { bare: [], "plugin-route": [] };
      await fixedRate(t.url, pair[1], { rate, duration: 2 }); // warm-up at the rate
      for (let round = 1; round <= rounds; round++)
        for (const s of round % 2 ? pair : [...pair].reverse()) {
          const r = await fixedRate(t.url, s, { rate, duration: fixedDuration });
          samples[s.name].push(r);
          console.log(
            `  fixed ${rate}/s ${t.backend.padEnd(7)} ${s.name.padEnd(12)} p50 ${r.p50} ms  p90 ${r.p90} ms  p99 ${r.p99} ms  (${r.ok}/${r.sent} ok, ${r.late} sent late)`,
          );
        }
      const med = (name, key) => +median(samples[name].map((r) => r[key])).toFixed(3);
      const all = [...samples.bare, ...samples["plugin-route"]];
      fixed.push({
        backend: t.backend,
        basis,
        rate,
        bare: { p50: med("bare", "p50"), p90: med("bare", "p90"), p99: med("bare", "p99") },
        plugin: {
          p50: med("plugin-route", "p50"),
          p90: med("plugin-route", "p90"),
          p99: med("plugin-route", "p99"),
        },
        okShare: +(all.reduce((n, r) => n + r.ok, 0) / all.reduce((n, r) => n + r.sent, 0)).toFixed(
          4,
        ),
      });
    }
  }

  // Marketplace search over the 10,000 generated listings (the first backend's quiet platform).
  const search = await benchSearch(targets[0].url);
  const admitCost = await benchAdmit(ROOT);

  // Report.
  console.log(
    `\nAtoll gateway benchmark (${client}) — ${connections} connections, ${rounds} interleaved rounds of ${duration} s per scenario (medians)`,
  );
  const byName = (t, n) => t.results.find((r) => r.name === n);
  const report = [];
  for (const backend of backends) {
    const quiet = targets.find((t) => t.backend === backend && t.logging === "off");
    const loud = targets.find((t) => t.backend === backend && t.logging === "on");
    console.log(
      `\n${backend} backend            logging off                  logging as npm start`,
    );
    console.log("scenario          req/s  p50 ms  p99 ms  ratio      req/s  ratio  on÷off");
    for (const r of quiet.results) {
      const l = byName(loud, r.name);
      console.log(
        `${r.name.padEnd(14)} ${String(r.requestsPerSec).padStart(8)} ${String(r.p50ms).padStart(7)} ${String(r.p99ms).padStart(7)}  ${r.ratioToBare.toFixed(2).padStart(5)}` +
          (l
            ? `   ${String(l.requestsPerSec).padStart(8)}  ${l.ratioToBare.toFixed(2).padStart(5)}  ${(l.requestsPerSec / r.requestsPerSec).toFixed(2).padStart(6)}`
            : ""),
      );
    }
    const coldSorted = [...quiet.cold].sort((a, b) => a - b);
    const coldLoad = {
      samples: quiet.cold.map((x) => +x.toFixed(1)),
      medianMs: +coldSorted[Math.floor(coldSorted.length / 2)].toFixed(1),
      maxMs: +coldSorted.at(-1).toFixed(1),
    };
    console.log(
      `cold load (first request after installing a never-loaded package): median ${coldLoad.medianMs} ms, max ${coldLoad.maxMs} ms`,
    );
    report.push({ backend, coldLoad, loggingOff: quiet.results, loggingOn: loud.results });
  }
  console.log(
    "\nFixed rate (open loop, latency from when each request was due), medians of rounds:",
  );
  console.log(
    "backend  rate (basis)             bare p50/p90/p99 ms        plugin p50/p90/p99 ms      Δp50 ms  p99 ×",
  );
  for (const f of fixed)
    console.log(
      `${f.backend.padEnd(8)} ${`${f.rate}/s (${f.basis})`.padEnd(24)} ${`${f.bare.p50} / ${f.bare.p90} / ${f.bare.p99}`.padEnd(26)} ${`${f.plugin.p50} / ${f.plugin.p90} / ${f.plugin.p99}`.padEnd(26)} ${(f.plugin.p50 - f.bare.p50).toFixed(2).padStart(7)}  ${(f.plugin.p99 / f.bare.p99).toFixed(2).padStart(5)}`,
    );
  console.log("\nCPU per request by process (µs, one saturated run each; logging off):");
  for (const c of cpu)
    console.log(
      `${c.backend.padEnd(8)} ${c.scenario.padEnd(13)} ` +
        (c.usPerRequest
          ? `total ${String(Object.values(c.usPerRequest).reduce((a, b) => a + b, 0)).padStart(5)}  ` +
            Object.entries(c.usPerRequest)
              .map(([r, us]) => `${r} ${us}`)
              .join(", ")
          : "(no /proc here: not measured)"),
    );
  console.log("\nmarketplace search over 10,000 listings (sequential requests):");
  for (const [name, r] of Object.entries(search))
    console.log(`  ${name.padEnd(9)} p50 ${r.p50ms} ms  p95 ${r.p95ms} ms  (${r.results} results)`);

  // Route matching and validation, per call, against one warm call at saturation.
  const loaderQuiet = targets.find((t) => t.logging === "off");
  const openRps = byName(loaderQuiet, "plugin-open").requestsPerSec || 1;
  const routeCost = (admitCost.declaredUs - admitCost.openUs) / (1e6 / openRps);
  console.log(
    `route matching + validation: ${admitCost.declaredUs} µs per call (declared routes) vs ${admitCost.openUs} µs (none), ${(routeCost * 100).toFixed(2)}% of a warm plugin call`,
  );

  const goals = [];
  const goal = (what, value, ok) => goals.push({ what, value, ok });
  for (const { backend, coldLoad, loggingOff, loggingOn } of report) {
    const q = (n) => loggingOff.find((r) => r.name === n);
    const pluginGoal = backend === "service" ? 0.75 : 0.85;
    goal(
      `${backend}: warm plugin route ≥ ${pluginGoal} of bare`,
      q("plugin-route").ratioToBare,
      q("plugin-route").ratioToBare >= pluginGoal,
    );
    for (const n of ["jwt", "apikey", "ratelimited"])
      goal(`${backend}: ${n} ≥ 0.90 of bare`, q(n).ratioToBare, q(n).ratioToBare >= 0.9);
    goal(`${backend}: cold load ≤ 50 ms`, coldLoad.medianMs, coldLoad.medianMs <= 50);
    for (const l of loggingOn) {
      const cost = +(1 - l.requestsPerSec / q(l.name).requestsPerSec).toFixed(3);
      goal(`${backend}: logging costs ${l.name} ≤ 10% of throughput`, cost, cost <= 0.1);
    }
  }
  // The goal's rate is half of bare; the other rate is printed beside it (one both sustain).
  for (const f of fixed) {
    const slack = f.backend === "service" ? 4 : 2;
    const dp50 = +(f.plugin.p50 - f.bare.p50).toFixed(3);
    const p99x = +(f.plugin.p99 / f.bare.p99).toFixed(3);
    const at = `at ${f.rate}/s, ${f.basis}`;
    goal(
      `${f.backend}: fixed-rate plugin p50 within +${slack} ms of bare (${at})`,
      dp50,
      dp50 <= slack,
    );
    goal(`${f.backend}: fixed-rate plugin p99 ≤ 1.5× bare (${at})`, p99x, p99x <= 1.5);
  }
  console.log("\nGoals:");
  for (const g of goals) console.log(`  ${g.ok ? "meets " : "misses"} ${g.what}: ${g.value}`);

  const out = join(ROOT, "test", "bench", "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, "latest.json");
  writeFileSync(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        client,
        connections,
        durationSec: duration,
        rounds,
        node: process.version,
        backends: report,
        fixedRate: fixed,
        cpuPerRequest: cpu,
        search,
        admit: admitCost,
        goals,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nWritten to ${file}`);
} finally {
  for (const p of platforms) await p.stop().catch(() => undefined);
  for (const s of states) rmSync(s, { recursive: true, force: true });
  cleanupLoad();
}
