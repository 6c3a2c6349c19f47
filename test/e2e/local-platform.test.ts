/**
 * `npm start`'s supervisor (scripts/start.mjs) as a user runs it, on its own state folder and
 * ports: its banner only once every part answers, one binding table per Worker, no false
 * missing-secrets warning, one access-log line per request, the Worker's schedules firing on their
 * own (a fast clock: ATOLL_CRON_TICK_MS, one minute per tick), `npm run cron` as docs/revenue.md
 * shows it; then kill -9 of the supervisor leaves no process and no port behind. A start over a
 * taken port names the process that holds it and prints no banner.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer as createHttpServer } from "node:http";
import {
  configuredCrons,
  cronMatches,
  fireCron,
  parseCron,
  startScheduler,
} from "../../scripts/local-cron.mjs";
import { listenerPid } from "../../scripts/local-platform.mjs";

const root = join(import.meta.dirname, "..", "..");
const state = mkdtempSync(join(tmpdir(), "atoll-lp-"));
afterAll(() => rmSync(state, { recursive: true, force: true }));

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

/** A free port whose next port is free too (start.mjs puts the plugin host on PORT+1). */
async function freePair(): Promise<number> {
  for (;;) {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    if (port < 65_000 && (await canBind(port + 1))) return port;
  }
}

/** Every descendant of `pid` (Linux /proc), and whether a pid is still a live process. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"; // a zombie has ended
  } catch {
    return false;
  }
};
const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
};

async function until<T>(probe: () => Promise<T | null | undefined | false>, ms: number) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe("npm start's supervisor, started and then killed with SIGKILL", () => {
  let port = 0;
  let supervisor: ChildProcess;
  let output = "";
  let url = "";
  let saas = "";
  let mail = "";
  let apiKey = "";

  beforeAll(async () => {
    port = await freePair();
    url = `http://127.0.0.1:${port}`;
    supervisor = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        ATOLL_STATE_DIR: state,
        ATOLL_CRON_TICK_MS: "1000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    supervisor.stdout?.on("data", (d) => (output += d));
    supervisor.stderr?.on("data", (d) => (output += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (output.includes("Atoll is running at")) {
          clearInterval(timer);
          resolve();
        }
      }, 200);
      supervisor.once("exit", (code) => {
        clearInterval(timer);
        reject(new Error(`npm start exited with ${code}:\n${output}`));
      });
    });
    saas = /Stand-ins\s+(\S+)\/\{/.exec(output)?.[1] ?? "";
    mail = /Mail\s+(http\S+)/.exec(output)?.[1] ?? "";
    apiKey = (
      JSON.parse(readFileSync(join(state, "local-credentials.json"), "utf8")) as { apiKey: string }
    ).apiKey;
  }, 240_000);

  afterAll(() => {
    if (supervisor.exitCode === null && supervisor.signalCode === null) supervisor.kill("SIGKILL");
  });

  it("prints its banner once every part answers: one binding list per Worker, no false warning", async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${saas}/__standin/state`)).status).toBe(200);
    expect((await fetch(`${mail}/api/v1/messages`)).status).toBe(200);
    const lines = output.split("\n");
    const tables = (prefix: string) => lines.filter((l) => l.startsWith(`${prefix}Bindings of `));
    expect(tables("")).toHaveLength(1); // the gateway's
    expect(tables("[plugin-host] ")).toHaveLength(1);
    // Names only, never a value (the host secret is random per start and never printed).
    expect(tables("")[0]).toContain("DB (D1)");
    expect(tables("[plugin-host] ")[0]).toContain("ATOLL_HOST_SECRET (secret)");
    expect(output).not.toContain("Missing required secrets");
    expect(output).not.toContain("Using secrets defined in process.env");
    expect(output).not.toContain("Your types might be out of date");
    expect(output.match(/Atoll is running at/g)).toHaveLength(1);
  });

  it("writes one structured access-log line per request, and no second line from wrangler", async () => {
    const ids = ["lp-probe-1", "lp-probe-2"].map((id) => `${id}-${Date.now()}`);
    expect(
      (await fetch(`${url}/healthz`, { headers: { "x-request-id": ids[0] ?? "" } })).status,
    ).toBe(200);
    expect(
      (
        await fetch(`${url}/v1/me`, {
          headers: { "x-request-id": ids[1] ?? "", "x-api-key": apiKey },
        })
      ).status,
    ).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    for (const id of ids) {
      const mine = output.split("\n").filter((l) => l.includes(id));
      expect(mine).toHaveLength(1);
      expect(JSON.parse(mine[0] ?? "")).toMatchObject({
        msg: "request",
        requestId: id,
        status: 200,
      });
    }
    // Wrangler's own per-request line (`[wrangler:info] GET /healthz 200 OK (3ms)`) never shows.
    expect(output).not.toMatch(/\[wrangler:info\] (GET|POST|PUT|DELETE) \//);
  });

  it("runs the Worker's schedules on their own: a new sync runs, then runs again after its interval", async () => {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { "x-api-key": apiKey, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      return (await res.json()) as { id: string };
    };
    const source = await post("/v1/connections", {
      provider: "hubspot",
      credentials: { accessToken: "pat-na1-standin-token" },
      environment: "production",
      baseUrl: `${saas}/hubspot`,
    });
    const target = await post("/v1/connections", {
      provider: "salesforce",
      credentials: { clientId: "sf-client", clientSecret: "sf-secret" },
      environment: "production",
      baseUrl: `${saas}/salesforce`,
    });
    const sync = await post("/v1/syncs", {
      source: source.id,
      target: target.id,
      object: "contacts",
      intervalSeconds: 60,
      mapping: [{ to: "LastName", from: "lastname", default: "Unknown" }],
    });
    // Nobody calls /run: only the every-minute Cron Trigger can start these runs.
    const runs = await until(async () => {
      const res = await fetch(`${url}/v1/syncs/${sync.id}`, { headers: { "x-api-key": apiKey } });
      const body = (await res.json()) as { runs: { trigger: string; status: string }[] };
      const done = body.runs.filter((r) => r.trigger === "schedule" && r.status !== "running");
      return done.length >= 2 ? done : null;
    }, 30_000);
    expect(runs.every((r) => r.status === "succeeded")).toBe(true);
    expect(output).toMatch(
      /\[cron\] \{"level":"info","msg":"cron","cron":"\* \* \* \* \*".*"outcome":"ok"/,
    );
  }, 60_000);

  it("fires one cron now with `npm run cron`, exactly as docs/revenue.md shows it", async () => {
    const doc = readFileSync(join(root, "docs", "revenue.md"), "utf8");
    const block = [...doc.matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
      .map((m) => m[1] ?? "")
      .find((b) => b.includes("npm run cron"));
    expect(block).toBeDefined();
    const r = spawnSync("bash", ["-c", `set -euo pipefail\n${block}`], {
      cwd: root,
      env: { ...process.env, PORT: String(port), ATOLL: "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`cron "0 * * * *" at ${url}: ok`);
    // The Worker's billing job ran (its own log line), not just an HTTP answer. (The supervisor's
    // output is read while this test waits: spawnSync held the event loop.)
    // The fast clock fires the hourly cron too (every 60 ticks, a `[cron]` line each): the manual
    // run is the billing run that no scheduler line accounts for.
    const count = (needle: string) => output.split("\n").filter((l) => l.includes(needle)).length;
    const unscheduled = () =>
      count('"msg":"billing run"') -
      count('[cron] {"level":"info","msg":"cron","cron":"0 * * * *"');
    await until(async () => unscheduled() >= 1, 5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(unscheduled()).toBe(1);
    // A cron that is not one of the Worker's schedules is refused, naming the ones that are.
    const bad = spawnSync("npm", ["run", "--silent", "cron", "--", "*/7 * * * *"], {
      cwd: root,
      env: { ...process.env, PORT: String(port), ATOLL: "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('"*/7 * * * *" is not one of the Worker\'s schedules');
    expect(bad.stderr).toContain('"0 3 * * *"');
  }, 90_000);

  it("the Worker itself fails an unknown cron (an exception, not a quiet success)", async () => {
    expect(await fireCron(url, "*/7 * * * *")).toEqual({ outcome: "exception", ok: false });
    expect(await fireCron(url, "0 3 * * *")).toEqual({ outcome: "ok", ok: true });
  });

  it("kill -9 of the plugin host's process alone: its workerd go with it, and a new host answers", async () => {
    const workerd = listenerPid(port + 1) ?? 0;
    expect(commandOf(workerd)).toMatch(/workerd\b.* serve /);
    const stat = readFileSync(`/proc/${workerd}/stat`, "utf8");
    const serveWorker = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    expect(commandOf(serveWorker)).toContain("serve-worker.mjs");
    const group = [serveWorker, ...descendants(serveWorker)];
    expect(group.length).toBeGreaterThanOrEqual(3); // the script and its two workerd
    process.kill(serveWorker, "SIGKILL");
    await until(async () => group.every((p) => !alive(p)), 5_000);
    // The supervisor notices the silent host (two missed pings) and starts another.
    await until(async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port + 1}/__host/health`);
        return res.status === 200;
      } catch {
        return false;
      }
    }, 60_000);
    expect(listenerPid(port + 1)).not.toBe(workerd);
  }, 90_000);

  it("kill -9 of the supervisor: within seconds no child survives and every port is free", async () => {
    const pid = supervisor.pid ?? 0;
    const children = descendants(pid);
    const commands = children.map(commandOf);
    // What there is to outlive it: the two served Workers and their workerd processes.
    expect(commands.filter((c) => c.includes("serve-worker.mjs"))).toHaveLength(2);
    expect(commands.filter((c) => /workerd\b.* serve /.test(c)).length).toBeGreaterThanOrEqual(2);
    const ports = [port, port + 1, Number(new URL(saas).port), Number(new URL(mail).port)];
    for (const p of ports) expect(await canBind(p)).toBe(false);

    supervisor.kill("SIGKILL");
    const started = Date.now();
    const survivors = () => children.filter(alive);
    while (survivors().length > 0 && Date.now() - started < 8_000)
      await new Promise((r) => setTimeout(r, 100));
    expect(survivors().map((p) => `${p} ${commandOf(p)}`)).toEqual([]);
    for (const p of ports) expect(await canBind(p)).toBe(true);
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 30_000);
});

describe("npm start itself killed with SIGKILL (npm, its shell, then the supervisor)", () => {
  it("takes the supervisor and every child with it; meanwhile a second start names the first", async () => {
    const port = await freePair();
    // The state the first describe seeded: this start skips the demo's seeding.
    const npm = spawn("npm", ["start"], {
      cwd: root,
      env: { ...process.env, PORT: String(port), ATOLL_STATE_DIR: state },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    npm.stdout?.on("data", (d) => (out += d));
    npm.stderr?.on("data", (d) => (out += d));
    try {
      await until(
        async () => out.includes("Atoll is running at") || npm.exitCode !== null,
        120_000,
      );
      expect(out).toContain("Atoll is running at");
      const tree = descendants(npm.pid ?? 0);
      const supervisorPid = tree.find((p) =>
        /^\S*node\S* .*scripts\/start\.mjs/.test(commandOf(p)),
      );
      expect(supervisorPid).toBeDefined();
      expect(tree.filter((p) => commandOf(p).includes("serve-worker.mjs"))).toHaveLength(2);

      // A second start on the same port names the earlier platform's supervisor, not a bare workerd.
      const again = spawnSync(process.execPath, [join(root, "scripts", "start.mjs")], {
        cwd: root,
        env: { ...process.env, PORT: String(port), ATOLL_STATE_DIR: state },
        encoding: "utf8",
        timeout: 90_000,
      });
      expect(again.status).toBe(1);
      expect(again.stderr).toContain(
        `port ${port} (the gateway) is held by pid ${supervisorPid} (`,
      );
      expect(again.stderr).toContain("an earlier local platform");
      expect(again.stdout).not.toContain("Atoll is running");

      npm.kill("SIGKILL"); // npm only: its shell and the supervisor are left running, for now
      const started = Date.now();
      while (tree.some(alive) && Date.now() - started < 10_000)
        await new Promise((r) => setTimeout(r, 100));
      expect(tree.filter(alive).map((p) => `${p} ${commandOf(p)}`)).toEqual([]);
      for (const p of [port, port + 1]) expect(await canBind(p)).toBe(true);
    } finally {
      if (npm.exitCode === null && npm.signalCode === null) npm.kill("SIGKILL");
    }
  }, 180_000);
});

describe("a start over a taken port", () => {
  const blockAndStart = async (offset: number) => {
    const port = await freePair();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port + offset, "127.0.0.1", r));
    const dir = mkdtempSync(join(tmpdir(), "atoll-lp-taken-"));
    try {
      return {
        port,
        r: spawnSync(process.execPath, [join(root, "scripts", "start.mjs")], {
          cwd: root,
          env: { ...process.env, PORT: String(port), ATOLL_STATE_DIR: dir },
          encoding: "utf8",
          timeout: 90_000,
        }),
        dir,
      };
    } finally {
      blocker.close();
    }
  };

  it("the gateway's: refuses in one line naming the process that holds it, and prints no banner", async () => {
    const { port, r, dir } = await blockAndStart(0);
    expect(r.status).toBe(1);
    const error = r.stderr.split("\n").filter((l) => l.includes("Address already in use"));
    expect(error).toHaveLength(1);
    expect(error[0]).toContain(`port ${port} (the gateway) is held by pid ${process.pid} (`);
    expect(r.stdout).not.toContain("Atoll is running");
    // Nothing was started: no state written.
    expect(existsSync(join(dir, "wrangler"))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("the plugin host's (PORT+1) likewise", async () => {
    const { port, r, dir } = await blockAndStart(1);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `port ${port + 1} (the plugin host) is held by pid ${process.pid} (`,
    );
    expect(r.stdout).not.toContain("Atoll is running");
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

describe("the local scheduler (scripts/local-cron.mjs)", () => {
  const at = (iso: string) => Date.parse(iso);

  it("schedules what wrangler.toml's [triggers] names", () => {
    expect(configuredCrons().sort()).toEqual(["* * * * *", "0 * * * *", "0 3 * * *"].sort());
  });

  it("matches crons by the UTC minute, as Cloudflare does", () => {
    expect(cronMatches("* * * * *", at("2026-12-02T13:47:59Z"))).toBe(true);
    expect(cronMatches("0 * * * *", at("2026-12-02T13:00:30Z"))).toBe(true);
    expect(cronMatches("0 * * * *", at("2026-12-02T13:01:00Z"))).toBe(false);
    expect(cronMatches("0 3 * * *", at("2026-12-02T03:00:00Z"))).toBe(true);
    expect(cronMatches("0 3 * * *", at("2026-12-02T03:00:00+01:00"))).toBe(false); // 02:00 UTC
    expect(cronMatches("*/15 9-17 * * 1-5", at("2026-12-02T09:45:00Z"))).toBe(true); // a Wednesday
    expect(cronMatches("*/15 9-17 * * 1-5", at("2026-12-06T09:45:00Z"))).toBe(false); // a Sunday
    expect(cronMatches("0 0 * * 7", at("2026-12-06T00:00:00Z"))).toBe(true); // 7 is Sunday too
    // Both day fields restricted: either one matches (cron's rule).
    expect(cronMatches("0 0 1 * 3", at("2026-12-02T00:00:00Z"))).toBe(true);
    expect(cronMatches("0 0 1 * 3", at("2026-12-01T00:00:00Z"))).toBe(true);
    expect(cronMatches("0 0 1 * 3", at("2026-12-03T00:00:00Z"))).toBe(false);
    for (const bad of [
      "* * * *",
      "60 * * * *",
      "* 24 * * *",
      "0 3 * * MON",
      "*/0 * * * *",
      "5-1 * * * *",
    ])
      expect(() => parseCron(bad)).toThrow();
  });

  it("fires each cron at its minute with that minute as scheduledTime (a fast clock: one minute a tick)", async () => {
    const fired: { cron: string; time: string }[] = [];
    const server = createHttpServer((req, res) => {
      const q = new URL(req.url ?? "/", "http://x").searchParams;
      fired.push({
        cron: q.get("cron") ?? "",
        time: new Date(Number(q.get("time"))).toISOString(),
      });
      res.writeHead(200, { "content-type": "application/json" }).end('{"outcome":"ok"}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const lines: string[] = [];
    const scheduler = startScheduler({
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      crons: ["* * * * *", "0 * * * *", "0 3 * * *"],
      tickMs: 30,
      now: () => at("2026-12-02T02:58:20Z"),
      log: (l) => lines.push(l),
    });
    try {
      await until(async () => lines.length >= 5, 5_000);
    } finally {
      scheduler.stop();
      server.close();
    }
    expect(
      fired.slice(0, 5).sort((a, b) => (a.time + a.cron).localeCompare(b.time + b.cron)),
    ).toEqual([
      { cron: "* * * * *", time: "2026-12-02T02:59:00.000Z" },
      { cron: "* * * * *", time: "2026-12-02T03:00:00.000Z" },
      { cron: "0 * * * *", time: "2026-12-02T03:00:00.000Z" },
      { cron: "0 3 * * *", time: "2026-12-02T03:00:00.000Z" },
      { cron: "* * * * *", time: "2026-12-02T03:01:00.000Z" },
    ]);
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ msg: "cron", outcome: "ok" });
  });

  it("on the real clock, waits for the next UTC minute", async () => {
    const fired: string[] = [];
    const server = createHttpServer((req, res) => {
      fired.push(new URL(req.url ?? "/", "http://x").searchParams.get("time") ?? "");
      res.writeHead(200).end('{"outcome":"ok"}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    // 400 ms before a minute boundary (the scheduler's "now" is this clock).
    const offset = Date.now() - (Math.ceil(Date.now() / 60_000) * 60_000 - 400);
    const scheduler = startScheduler({
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      crons: ["* * * * *"],
      now: () => Date.now() - offset,
    });
    try {
      await new Promise((r) => setTimeout(r, 150));
      expect(fired).toEqual([]); // not before the minute
      await until(async () => fired.length >= 1, 3_000);
    } finally {
      scheduler.stop();
      server.close();
    }
    expect(Number(fired[0]) % 60_000).toBe(0);
    expect(fired).toHaveLength(1);
  });
});
