// The local platform's Cron Triggers: Cloudflare fires the Worker's `[triggers] crons` on their
// schedule in production; under `npm start` nothing would, so the supervisor runs this scheduler.
// Each minute (UTC, as Cloudflare's crons), every cron that matches that minute is fired at the
// gateway through Miniflare's trigger route (/cdn-cgi/local/scheduled), which runs the Worker's
// real scheduled() handler (src/jobs.ts), with scheduledTime the minute it was due.
//
// Run as a script, it fires one cron now (docs/revenue.md "Schedules"):
//   npm run cron -- "0 * * * *"        (at --url, else $ATOLL, else http://127.0.0.1:$PORT or :8787)
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MINUTE = 60_000;

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
];

/**
 * Parses a five-field cron expression (numbers, `*`, lists, ranges, steps; no names, no `L`/`W`/`#`)
 * into the set of values each field allows. Throws on anything else, naming the field.
 * @param {string} expr
 * @returns {{ sets: Set<number>[], domStar: boolean, dowStar: boolean }}
 */
export function parseCron(expr) {
  const parts = String(expr).trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`a cron has 5 fields; "${expr}" has ${parts.length}`);
  const sets = parts.map((part, i) => {
    const { name, min, max } = FIELDS[i];
    const set = new Set();
    for (const item of part.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
      if (!m) throw new Error(`the ${name} field of "${expr}" is not understood: "${item}"`);
      const step = m[4] === undefined ? 1 : Number(m[4]);
      let lo = m[1] === "*" ? min : Number(m[2]);
      let hi = m[1] === "*" ? max : m[3] === undefined ? (m[4] ? max : lo) : Number(m[3]);
      if (step < 1 || lo < min || hi > max || lo > hi)
        throw new Error(`the ${name} field of "${expr}" is out of range: "${item}"`);
      for (let v = lo; v <= hi; v += step) set.add(i === 4 && v === 7 ? 0 : v);
    }
    return set;
  });
  return { sets, domStar: parts[2] === "*", dowStar: parts[4] === "*" };
}

/** Whether `expr` fires in the UTC minute that contains `time` (ms since the epoch). */
export function cronMatches(expr, time) {
  const { sets, domStar, dowStar } = parseCron(expr);
  const d = new Date(time);
  const [minute, hour, dom, month, dow] = sets;
  if (!minute.has(d.getUTCMinutes()) || !hour.has(d.getUTCHours())) return false;
  if (!month.has(d.getUTCMonth() + 1)) return false;
  // As cron: when both day fields are restricted, either may match.
  const domOk = dom.has(d.getUTCDate());
  const dowOk = dow.has(d.getUTCDay());
  return domStar || dowStar ? domOk && dowOk : domOk || dowOk;
}

/** The Worker's schedules: `[triggers] crons` of wrangler.toml (the top-level environment). */
export function configuredCrons(config = join(ROOT, "wrangler.toml")) {
  const text = readFileSync(config, "utf8");
  const section = /^\[triggers\]\s*$([\s\S]*?)(?=^\[)/m.exec(text + "\n[");
  const list = section && /^\s*crons\s*=\s*\[([^\]]*)\]/m.exec(section[1]);
  if (!list) return [];
  return [...list[1].matchAll(/"([^"]*)"/g)].map((m) => m[1]);
}

/**
 * Fires one cron at the Worker served at `url`, as Cloudflare would at `scheduledTime`.
 * Resolves to { outcome, ok } (Miniflare's outcome: "ok", "exception", …).
 */
export async function fireCron(url, cron, scheduledTime = Date.now()) {
  const q = new URLSearchParams({ cron, time: String(scheduledTime), format: "json" });
  const res = await fetch(`${url}/cdn-cgi/local/scheduled?${q}`, {
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  let outcome = text;
  try {
    outcome = JSON.parse(text).outcome ?? text;
  } catch {
    // not JSON: the outcome is the text
  }
  return { outcome, ok: res.status === 200 && outcome === "ok" };
}

/**
 * Runs `crons` against the Worker at `url` on their schedule. By default the clock is the real
 * one: the scheduler wakes at each UTC minute and fires what matches it. `tickMs` (tests only,
 * ATOLL_CRON_TICK_MS) makes each tick one minute of a fast clock that starts at the current
 * minute, so an hour of schedules passes in 60 ticks; scheduledTime is then that clock's minute.
 * A run is not awaited by the next minute (Cloudflare overlaps them too). `log` gets one line per
 * fire. Returns { stop }.
 * @param {{ url: string, crons: string[], tickMs?: number, log?: (line: string) => void, now?: () => number }} options
 */
export function startScheduler({ url, crons, tickMs, log = () => undefined, now = Date.now }) {
  for (const c of crons) parseCron(c); // a typo in wrangler.toml fails the start, not a minute later
  let stopped = false;
  let timer = null;
  let minute = Math.floor(now() / MINUTE) * MINUTE;
  const fire = (at) => {
    for (const cron of crons.filter((c) => cronMatches(c, at))) {
      const started = Date.now();
      fireCron(url, cron, at).then(
        ({ outcome, ok }) =>
          !stopped &&
          log(
            JSON.stringify({
              level: ok ? "info" : "error",
              msg: "cron",
              cron,
              scheduledTime: new Date(at).toISOString(),
              outcome,
              durationMs: Date.now() - started,
            }),
          ),
        (err) =>
          !stopped &&
          log(JSON.stringify({ level: "error", msg: "cron", cron, outcome: String(err?.message) })),
      );
    }
  };
  const next = () => {
    if (stopped) return;
    minute += MINUTE;
    // After a suspended laptop: resume at the current minute rather than replay the missed ones.
    if (!tickMs && now() - minute > MINUTE) minute = Math.floor(now() / MINUTE) * MINUTE + MINUTE;
    const wait = tickMs ? tickMs : Math.max(0, minute - now());
    timer = setTimeout(() => {
      fire(minute);
      next();
    }, wait);
    timer.unref?.();
  };
  next();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const urlAt = args.indexOf("--url");
  // --url, else $ATOLL (the docs' examples export it), else npm start's port.
  const url = (
    urlAt >= 0
      ? args.splice(urlAt, 2)[1]
      : process.env.ATOLL || `http://127.0.0.1:${process.env.PORT ?? 8787}`
  ).replace(/\/+$/, "");
  const [cron] = args;
  const crons = configuredCrons();
  if (!cron || !crons.includes(cron)) {
    console.error(
      `${cron ? `"${cron}" is not one of the Worker's schedules` : "Which cron?"}: ` +
        `npm run cron -- "<cron>", one of ${crons.map((c) => `"${c}"`).join(", ")} (wrangler.toml [triggers]).`,
    );
    process.exit(2);
  }
  try {
    const { outcome, ok } = await fireCron(url, cron);
    console.log(`cron "${cron}" at ${url}: ${outcome}`);
    process.exit(ok ? 0 : 1);
  } catch (err) {
    console.error(`cron "${cron}": the platform at ${url} did not answer (${err.message})`);
    process.exit(1);
  }
}
