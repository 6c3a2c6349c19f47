// Load generators for `npm run bench`: closed-loop saturation (wrk, or autocannon where wrk is
// missing) and an open-loop fixed-rate driver (requests sent on a schedule, latency measured from
// when each was due, so a stall shows in the figures instead of slowing the sender).
import autocannon from "autocannon";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const hasWrk = spawnSync("wrk", ["--version"]).error === undefined;
export const client = process.env.BENCH_CLIENT ?? (hasWrk ? "wrk" : "autocannon");
const luaDir = mkdtempSync(join(tmpdir(), "atoll-wrk-"));
export const cleanupLoad = () => rmSync(luaDir, { recursive: true, force: true });

/** The requests a scenario sends (in rotation). */
export function requestsOf(s) {
  return (
    s.opts.requests ?? [
      {
        method: s.opts.method ?? "GET",
        path: new URL(s.opts.url).pathname,
        headers: s.opts.headers ?? {},
        body: s.opts.body,
      },
    ]
  );
}

/** Saturation: { rps, p50, p99, total, ok, errors } (ok counts the expected status). */
export function saturate(origin, s, { connections, duration }) {
  const expect = s.expect ?? 200;
  return client === "wrk"
    ? runWrk(origin, requestsOf(s), expect, connections, duration)
    : runAutocannon(origin, s, expect, connections, duration);
}

function runAutocannon(origin, s, expect, connections, duration) {
  return new Promise((resolve, reject) => {
    autocannon({ url: origin, connections, duration, ...s.opts }, (err, r) => {
      if (err) return reject(err);
      resolve({
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        total: r.requests.total,
        ok: expect === 200 ? r["2xx"] : r["non2xx"],
        errors: r.errors + r.timeouts,
      });
    });
  });
}

function runWrk(origin, reqs, expect, connections, duration) {
  // A Lua script sends the scenario's requests in rotation and counts the expected status.
  const script = join(luaDir, "scenario.lua");
  const host = new URL(origin).host;
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
      `local firstBad = nil\nresponse = function(status, headers, body) if status ~= ${expect} and firstBad == nil then firstBad = status .. " " .. string.sub(body or "", 1, 200); io.write("UNEXPECTED " .. firstBad .. "\\n") end end\n` +
      `done = function(summary, latency, requests) io.write(string.format("ATOLL %d %.3f %.3f\\n", summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000)) end\n`,
  );
  const out = execFileSync(
    "wrk",
    ["-t1", `-c${connections}`, `-d${duration}s`, "-s", script, origin],
    { encoding: "utf8" },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /ATOLL (\d+) ([\d.]+) ([\d.]+)/.exec(out);
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
    ok: expect === 200 ? total - non2xx : non2xx,
    errors: 0,
  };
}

const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;

/**
 * Open loop: `rate` requests per second for `duration` seconds, each sent when it is due (a
 * keep-alive pool of up to 256 sockets), whatever the earlier ones are doing. Latency runs from
 * the moment a request was due to its last response byte. Returns { sent, ok, late, p50, p90, p99 }
 * in ms; `late` counts requests the sender itself could not send within 2 ms of their time.
 */
export function fixedRate(origin, s, { rate, duration }) {
  const reqs = requestsOf(s);
  const expect = s.expect ?? 200;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(origin);
  const total = Math.round(rate * duration);
  const latencies = [];
  let sent = 0;
  let done = 0;
  let ok = 0;
  let late = 0;
  return new Promise((resolve) => {
    const start = performance.now();
    const finish = () => {
      agent.destroy();
      const sorted = latencies.sort((a, b) => a - b);
      const r3 = (x) => +x.toFixed(3);
      resolve({
        sent,
        ok,
        late,
        p50: r3(percentile(sorted, 50)),
        p90: r3(percentile(sorted, 90)),
        p99: r3(percentile(sorted, 99)),
      });
    };
    const send = (due) => {
      const r = reqs[sent % reqs.length];
      sent += 1;
      if (performance.now() - due > 2) late += 1;
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: r.method,
          path: r.path,
          headers: r.headers,
          agent,
        },
        (res) => {
          res.on("data", () => undefined);
          res.on("end", () => {
            latencies.push(performance.now() - due);
            if (res.statusCode === expect) ok += 1;
            if (++done === total) finish();
          });
        },
      );
      req.on("error", () => {
        latencies.push(performance.now() - due);
        if (++done === total) finish();
      });
      req.end(r.body);
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
      while (sent < due) send(start + (sent / rate) * 1000);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}
