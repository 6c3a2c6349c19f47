// Starts the whole platform locally (workerd through Miniflare: D1, R2 and Durable Objects on disk)
// and seeds demo data. Used by `npm start`, the end-to-end tests and the benchmark.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareAssets } from "./assets.mjs";
import { startStripeStandIn } from "./standins/stripe.mjs";
import { startSaasStandIn } from "./standins/saas.mjs";
import { startMailStandIn } from "./standins/mail.mjs";
import { configuredCrons, startScheduler } from "./local-cron.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** Environment for every wrangler call: offline, no telemetry, no login, no prompts. */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_HIDE_BANNER: "true",
    CI: "true",
    // Miniflare's local explorer (raw SQL on D1, Durable Object storage, R2 objects) and local
    // observability store answer /cdn-cgi/local/* on every local Worker with no credential:
    // anyone on loopback — or a web page's blind POST — could read and write every tenant's data.
    X_LOCAL_EXPLORER: "false",
    X_LOCAL_OBSERVABILITY: "false",
    // Secrets come from .dev.vars (the gateway) and over stdin, never from .env files or this
    // process's environment (wrangler would otherwise read them for a Worker without .dev.vars,
    // the plugin host, and say "Using secrets defined in process.env").
    CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "false",
    ...extra,
  };
}

/** Creates .dev.vars from .dev.vars.example on a fresh clone; adds secrets a newer example introduced. */
export function ensureDevVars() {
  const target = join(ROOT, ".dev.vars");
  const example = join(ROOT, ".dev.vars.example");
  if (!existsSync(target)) return copyFileSync(example, target);
  const have = readFileSync(target, "utf8");
  const names = new Set(have.split("\n").map((l) => l.split("=")[0]?.trim()));
  const missing = readFileSync(example, "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l) && !names.has(l.split("=")[0]));
  if (missing.length > 0)
    appendFileSync(target, (have.endsWith("\n") ? "" : "\n") + missing.join("\n") + "\n");
}

export function readDevVars() {
  const vars = {};
  for (const line of readFileSync(join(ROOT, ".dev.vars"), "utf8").split("\n")) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

/** Runs wrangler synchronously (for migrations and type checks); throws with its output on failure. */
export function wranglerSync(args, { quiet = true } = {}) {
  const r = spawnSync(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: wranglerEnv(),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0)
    throw new Error(`wrangler ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  if (!quiet) process.stdout.write(r.stdout);
  return r.stdout;
}

async function waitHealthy(url, child, output, what) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${what} exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup(child, "SIGKILL");
      throw new Error(`${what} did not become healthy within 60 s:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Serves one Worker in a child process of its own (scripts/serve-worker.mjs), its own process
 * group so that stopping it also stops the workerd it starts. Options, secrets included, go over
 * the child's standard input, never on a command line.
 */
function spawnWorker(options, inherit, label) {
  const child = spawn(process.execPath, [join(ROOT, "scripts", "serve-worker.mjs")], {
    // The Worker's own folder: wrangler compares ./worker-configuration.d.ts with the config it
    // serves, and the gateway's types file is not the plugin host's ("your types might be out of
    // date" on every start).
    cwd: dirname(options.config),
    env: wranglerEnv(),
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  // The first line carries the options; the pipe then stays open, and its closing (this process
  // ending in any way, kill -9 included) stops the child.
  child.stdin.write(JSON.stringify(options) + "\n");
  child.stdin.on("error", () => undefined);
  // The newest output, kept for error messages: chunks in a bounded list (joined only when read),
  // not a 20 KB string copied on every chunk — with the access log on, a chunk is a request.
  const chunks = [];
  let kept = 0;
  const output = () => chunks.join("").slice(-20_000);
  const onData = (stream) => (d) => {
    const text = String(d);
    chunks.push(text);
    kept += text.length;
    while (kept - (chunks[0]?.length ?? 0) >= 20_000) kept -= chunks.shift().length;
    if (!inherit) return;
    // The supervisor's pings would drown everything else.
    const shown = text
      .split("\n")
      .filter((line) => !line.includes("/__host/health") && !/^ready http/.test(line))
      .join("\n");
    if (shown.trim()) stream.write(label ? shown.replace(/^(?=.)/gm, label) : shown);
  };
  child.stdout.on("data", onData(process.stdout));
  child.stderr.on("data", onData(process.stderr));
  // If the script itself dies (a crash, a kill -9 of it alone), its workerd processes would be
  // left in its process group holding the port: the group goes with it.
  child.once("exit", () => killGroup(child, "SIGKILL"));
  return { child, output };
}

/** Signals a child's whole process group (wrangler and its workerd). */
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      killGroup(child, "SIGKILL");
      return resolve();
    }
    child.once("exit", () => {
      killGroup(child, "SIGKILL");
      resolve();
    });
    killGroup(child, "SIGTERM");
    setTimeout(() => killGroup(child, "SIGKILL"), 5_000).unref();
  });
}

/**
 * Starts the platform: the Stripe stand-in, the plugin host (a separate workerd process that runs
 * plugin isolates), and the gateway. Options: port (gateway; the host uses port+1 unless hostPort),
 * persistTo (state folder; default .wrangler/state), vars (extra [vars] for the gateway),
 * logLevel, inherit (stream output to this terminal), pluginBackend ("service" | "loader").
 * A supervisor pings the plugin host every 2 s and recycles it when it stops answering (a
 * plugin spinning its CPU), so the next plugin call works. Resolves once both answer.
 * crons: run the Worker's Cron Triggers on their schedule (local-cron.mjs; `npm start` does, the
 * tests by default do not, so that no billing run lands in the middle of one); cronTickMs: a
 * fast clock for tests (each tick one minute).
 * @param {{ port?: number, hostPort?: number, persistTo?: string, vars?: Record<string, string>, logLevel?: string, inherit?: boolean, inspectorPort?: number, hostInspectorPort?: number, pluginBackend?: string, saasPort?: number, mailPort?: number, crons?: boolean, cronTickMs?: number }} [options]
 */
export async function startPlatform({
  port = 8787,
  hostPort,
  persistTo,
  vars = {},
  logLevel = "info",
  inherit = false,
  inspectorPort,
  hostInspectorPort,
  pluginBackend = "service",
  saasPort,
  mailPort,
  crons = false,
  cronTickMs,
} = {}) {
  ensureDevVars();
  prepareAssets();
  const devVars = readDevVars();
  const persist = ["--persist-to", persistTo ?? join(ROOT, ".wrangler", "state")];
  // The SaaS providers' stand-ins (Salesforce, HubSpot, Slack, Zapier, a generic CRM): on 8791
  // for npm start (the README's examples use it), on a free port otherwise. The mail stand-in
  // (invitations): its page lists what the platform mailed; 8025 for npm start.
  const sPort = saasPort ?? (port === 8787 ? 8791 : 0);
  const mPort = mailPort ?? (port === 8787 ? 8025 : 0);
  // Every fixed port is checked before anything starts, so that a start over an earlier one's
  // leftovers says which process holds what, rather than half-starting.
  await assertPortsFree([
    ["the gateway", port],
    ...(pluginBackend === "service" ? [["the plugin host", hostPort ?? port + 1]] : []),
    ["the SaaS stand-ins", sPort],
    ["the mail stand-in", mPort],
  ]);
  wranglerSync(["d1", "migrations", "apply", "DB", "--local", ...persist]);
  const stripe = await startStripeStandIn({ port: 0 });
  const saas = await startSaasStandIn({ port: sPort });
  const mail = await startMailStandIn({ port: mPort });
  const overrides = JSON.stringify({ "api.stripe.com": stripe.url });
  const hPort = hostPort ?? port + 1;
  // Random per start, handed to both processes over stdin: never a constant, never in `ps`.
  const hostSecret = randomBytes(32).toString("base64url");
  const persistTo_ = persistTo ?? join(ROOT, ".wrangler", "state");
  // Inspector ports only when a developer asks (ATOLL_INSPECT=1): an inspector is an
  // unauthenticated console on a Worker and its secrets.
  const inspect = process.env.ATOLL_INSPECT === "1" || process.env.ATOLL_INSPECT === "true";

  const hostOptions = {
    config: join(ROOT, "workers", "plugin-host", "wrangler.toml"),
    // On its Worker's own socket: the gateway calls it on every plugin request, and Miniflare's
    // routing entry Worker would add work to each.
    directSocket: true,
    port: hPort,
    persist: persistTo_,
    logLevel,
    vars: { ATOLL_EGRESS_OVERRIDES: overrides, ATOLL_GATEWAY_URL: `http://127.0.0.1:${port}` },
    secrets: { ATOLL_HOST_SECRET: hostSecret },
    ...(inspect ? { inspectorPort: hostInspectorPort ?? 9230 } : {}),
  };
  const hostUrl = `http://127.0.0.1:${hPort}`;
  let host = null;
  let restarts = 0;
  const startHost = async () => {
    host = spawnWorker(hostOptions, inherit, "[plugin-host] ");
    await waitHealthy(`${hostUrl}/__host/health`, host.child, host.output, "the plugin host");
  };
  if (pluginBackend === "service") await startHost();

  const { ATOLL_HOST_SECRET: _ignored, ...gatewayVars } = {
    ATOLL_ISSUER: `http://127.0.0.1:${port}`,
    ATOLL_PLUGIN_BACKEND: pluginBackend,
    ATOLL_PLUGIN_HOST_URL: hostUrl,
    ATOLL_EGRESS_OVERRIDES: overrides,
    ATOLL_MAIL_URL: mail.url,
    ...vars,
  };
  // Secrets the caller passes (tests, the bench) travel like the host secret: over stdin.
  const secretNames = ["ATOLL_SECRET_KEY", "ATOLL_OPERATOR_KEY", "ATOLL_PAYMENTS_WEBHOOK_SECRET"];
  const gatewaySecrets = {
    ATOLL_HOST_SECRET: hostSecret,
    ...Object.fromEntries(
      secretNames.filter((n) => n in gatewayVars).map((n) => [n, gatewayVars[n]]),
    ),
  };
  for (const n of secretNames) delete gatewayVars[n];
  const gatewayOptions = {
    config: join(ROOT, "wrangler.toml"),
    port,
    persist: persistTo_,
    logLevel,
    vars: gatewayVars,
    secrets: gatewaySecrets,
    ...(inspect ? { inspectorPort: inspectorPort ?? 9229 } : {}),
  };
  // Started after the host: two workerd processes started at the same instant collide on a port.
  const gateway = spawnWorker(gatewayOptions, inherit, "");
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(`${url}/healthz`, gateway.child, gateway.output, "the gateway");

  // Supervisor: a plugin host that misses 2 pings in a row (each 1.5 s) is recycled.
  let misses = 0;
  let recycling = false;
  const supervisor = setInterval(async () => {
    if (!host || recycling) return;
    try {
      const res = await fetch(`${hostUrl}/__host/health`, { signal: AbortSignal.timeout(1_500) });
      misses = res.status === 200 ? 0 : misses + 1;
    } catch {
      misses += 1;
    }
    if (misses >= 2) {
      recycling = true;
      misses = 0;
      restarts += 1;
      process.stderr.write(
        `[supervisor] the plugin host stopped answering (a plugin is spinning?): recycling it (restart ${restarts})\n`,
      );
      // A host that died (rather than hung) has already exited: waiting for "exit" would hang
      // the supervisor, and the host would never come back.
      const gone = host.child.exitCode !== null || host.child.signalCode !== null;
      const dead = gone ? Promise.resolve() : new Promise((r) => host.child.once("exit", r));
      killGroup(host.child, "SIGKILL");
      await dead;
      try {
        await startHost();
      } catch (err) {
        process.stderr.write(`[supervisor] restarting the plugin host failed: ${err.message}\n`);
      }
      recycling = false;
    }
  }, 2_000);
  supervisor.unref();

  const scheduler = crons
    ? startScheduler({
        url,
        crons: configuredCrons(),
        tickMs: cronTickMs,
        log: (line) => (inherit ? process.stdout.write(`[cron] ${line}\n`) : undefined),
      })
    : null;

  /**
   * Which parts do not answer (an empty list when every one does): the gateway, the plugin host,
   * and the stand-ins. `npm start` prints its banner only when this is empty.
   */
  const unanswered = async () => {
    const parts = [
      ["the gateway", `${url}/healthz`],
      ...(host ? [["the plugin host", `${hostUrl}/__host/health`]] : []),
      ["the Stripe stand-in", `${stripe.url}/__standin/state`],
      ["the SaaS stand-ins", `${saas.url}/__standin/state`],
      ["the mail stand-in", `${mail.url}/api/v1/messages`],
    ];
    const answers = await Promise.all(
      parts.map(async ([name, probe]) => {
        try {
          const res = await fetch(probe, { signal: AbortSignal.timeout(5_000) });
          await res.body?.cancel();
          return res.status === 200 ? null : `${name} (${probe}: ${res.status})`;
        } catch (err) {
          return `${name} (${probe}: ${err?.cause?.code ?? err?.message})`;
        }
      }),
    );
    return answers.filter(Boolean);
  };

  const stop = async () => {
    scheduler?.stop();
    clearInterval(supervisor);
    await Promise.all([stopChild(gateway.child), host ? stopChild(host.child) : undefined]);
    await stripe.close();
    await saas.close();
    await mail.close();
  };
  // The process groups of the platform's processes (the gateway's, the plugin host's).
  const processGroups = () => [gateway.child.pid, host?.child.pid].filter(Boolean);
  return {
    url,
    hostUrl,
    child: gateway.child,
    processGroups,
    unanswered,
    stop,
    output: gateway.output,
    stripe,
    saas,
    mail,
    restarts: () => restarts,
  };
}

/** The pid of the process listening on a loopback TCP port (Linux /proc), or null. */
export function listenerPid(port) {
  try {
    const inodes = new Set();
    for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[3] === "0A" && parseInt(cols[1]?.split(":")[1] ?? "", 16) === port)
          inodes.add(cols[9]);
      }
    }
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (m && inodes.has(m[1])) return Number(pid);
        }
      } catch {
        // gone, or not ours to read
      }
    }
  } catch {
    // no /proc
  }
  return null;
}

const commandLine = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
};
const parentPid = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
};

/**
 * Which process listens on a loopback TCP port: "pid N (its command line)", or null; when it is
 * part of an earlier local platform (a workerd under scripts/serve-worker.mjs), also the process
 * to stop: that platform's supervisor, or the served Worker's script when it has none.
 */
function portHolder(port) {
  const pid = listenerPid(port);
  if (pid === null) return null;
  let owner = null;
  for (let p = parentPid(pid); p > 1; p = parentPid(p)) {
    const command = commandLine(p);
    if (/^\S*node\S* .*scripts\/(start|serve-worker)\.mjs\b/.test(command))
      owner = { pid: p, command };
    else if (owner) break;
  }
  const what = `pid ${pid} (${commandLine(pid).slice(0, 120)})`;
  return owner
    ? `pid ${owner.pid} (${owner.command.slice(0, 120)}), an earlier local platform (its ${what} listens there)`
    : what;
}

/**
 * Throws, naming the holder, when a port is already taken (before anything is started).
 * @param {[string, number][]} ports what would listen there, and the port (0: any, not checked)
 */
async function assertPortsFree(ports) {
  for (const [what, port] of ports) {
    if (!port) continue;
    const server = createServer();
    const error = await new Promise((resolve) => {
      server.once("error", resolve);
      server.listen(port, "127.0.0.1", () => resolve(null));
    });
    if (!error) {
      await new Promise((resolve) => server.close(resolve));
      continue;
    }
    const holder = portHolder(port);
    throw new Error(
      `Address already in use: port ${port} (${what}) is held by ${holder ?? "another process"}. Stop it (an earlier \`npm start\`?) or choose another port with PORT=…`,
    );
  }
}

/** `n` distinct free loopback ports (all held open until every one is chosen). */
export async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const server = createServer();
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * startPlatform on fresh free ports, retried when a port was taken between choosing and binding
 * (other test processes start servers at the same time).
 * @param {Parameters<typeof startPlatform>[0]} [options]
 */
export async function startPlatformOnFreePorts(options = {}) {
  for (let attempt = 1; ; attempt++) {
    const [port, hostPort, inspectorPort, hostInspectorPort] = await freePorts(4);
    try {
      return await startPlatform({ ...options, port, hostPort, inspectorPort, hostInspectorPort });
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/i.test(String(err?.message))) throw err;
    }
  }
}

const CATALOGUE = [
  {
    name: "invoice-mailer",
    kind: "app",
    category: "payments",
    description:
      "Emails every customer their invoice on the first of the month, with a payment link.",
    keywords: ["invoices", "email", "billing"],
    pricing: { model: "subscription", amount: 1900, currency: "USD", interval: "month" },
  },
  {
    name: "uptime-pager",
    kind: "app",
    category: "developer-tools",
    description:
      "Checks your endpoints every minute and pages the on-call person when one goes down.",
    keywords: ["uptime", "monitoring", "alerts"],
    pricing: { model: "usage", amount: 1, currency: "USD", unit: "check" },
  },
  {
    name: "crm-sync",
    kind: "plugin",
    category: "crm",
    description: "Keeps contacts and deals in sync between Salesforce and HubSpot, both ways.",
    keywords: ["salesforce", "hubspot", "sync", "contacts"],
    pricing: { model: "subscription", amount: 4900, currency: "USD", interval: "month" },
  },
  {
    name: "slack-digest",
    kind: "plugin",
    category: "communication",
    description: "Posts a daily digest of your key metrics to a Slack channel.",
    keywords: ["slack", "digest", "metrics"],
    pricing: { model: "free" },
  },
  {
    name: "storefront-starter",
    kind: "template",
    category: "productivity",
    description: "A starter for a plugin with a settings page, storage and a webhook route.",
    keywords: ["template", "starter", "webhook"],
    pricing: { model: "free" },
  },
  {
    name: "dashboard-starter",
    kind: "template",
    category: "analytics",
    description: "A starter for analytics dashboards built on the advanced-analytics plugin.",
    keywords: ["template", "dashboard", "charts"],
    pricing: { model: "one-time", amount: 2500, currency: "USD" },
  },
];

/** A few more listings of several kinds and categories, from a second publisher, and ratings. */
async function verifyPublisher(url, operatorKey, orgId) {
  const res = await fetch(`${url}/v1/operator/organizations/${orgId}/verified`, {
    method: "PUT",
    headers: { "x-api-key": operatorKey, "content-type": "application/json" },
    body: JSON.stringify({ verified: true }),
  });
  if (res.status !== 200)
    throw new Error(`verifying a demo publisher failed: ${res.status} ${await res.text()}`);
}

async function seedCatalogue(url, demoKey, operatorKey) {
  const { strToU8, zipSync } = await import("fflate");
  const signup = await fetch(`${url}/v1/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: "hello@acme-tools.example",
      name: "Acme Tools",
      organization: { name: "Acme Tools", slug: "acme-tools" },
    }),
  });
  if (signup.status !== 201)
    throw new Error(
      `seeding the catalogue publisher failed: ${signup.status} ${await signup.text()}`,
    );
  const acme = await signup.json();
  await verifyPublisher(url, operatorKey, acme.organization.id);
  const post = (path, key, body, type = "application/json") =>
    fetch(`${url}${path}`, {
      method: path.endsWith("/rating") ? "PUT" : "POST",
      headers: { "x-api-key": key, "content-type": type },
      body: type === "application/json" ? JSON.stringify(body) : body,
    });
  for (const item of CATALOGUE) {
    const manifest = {
      name: `@acme-tools/${item.name}`,
      version: "1.0.0",
      description: item.description,
      author: "Acme Tools",
      kind: item.kind,
      entry: "index.js",
      apiVersion: "1",
      category: item.category,
      keywords: item.keywords,
      pricing: item.pricing,
      license: "MIT",
    };
    const readme = `# ${item.name}\n\n${item.description}\n`;
    const files = {
      "manifest.json": strToU8(JSON.stringify(manifest)),
      "index.js": strToU8(
        `export default { fetch() { return Response.json({ listing: ${JSON.stringify(manifest.name)} }); } };`,
      ),
      "README.md": strToU8(readme),
    };
    if (item.kind === "template") {
      // The starter project `atoll init --template` unpacks: the hello plugin's sources.
      for (const f of ["manifest.json", "src/index.ts", "atoll.dev.json"])
        files[`template/${f}`] = new Uint8Array(readFileSync(join(ROOT, "plugins", "hello", f)));
      files["template/README.md"] = strToU8(readme);
    }
    const zip = zipSync(files);
    const res = await post("/v1/packages", acme.apiKey, zip, "application/zip");
    if (res.status !== 201)
      throw new Error(`seeding ${manifest.name} failed: ${res.status} ${await res.text()}`);
  }
  // Acme installs the demo plugins it rates (buying the paid one); the demo organization rates what it installed.
  const pm = await fetch(`${url}/v1/billing/payment-method`, {
    method: "PUT",
    headers: { "x-api-key": acme.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ paymentMethod: "tok_visa" }),
  });
  if (pm.status !== 200)
    throw new Error(`seeding acme's payment method failed: ${pm.status} ${await pm.text()}`);
  const bought = await fetch(`${url}/v1/purchases`, {
    method: "POST",
    headers: {
      "x-api-key": acme.apiKey,
      "content-type": "application/json",
      "idempotency-key": "seed-acme-advanced-analytics",
    },
    body: JSON.stringify({ listing: "@demo/advanced-analytics" }),
  });
  if (bought.status !== 201)
    throw new Error(`seeding acme's purchase failed: ${bought.status} ${await bought.text()}`);
  for (const [plugin, grants] of [
    ["@demo/hello", ["storage"]],
    ["@demo/advanced-analytics", []],
  ]) {
    const res = await post("/v1/installations", acme.apiKey, { plugin, grants });
    if (res.status !== 201)
      throw new Error(`seeding an install of ${plugin} failed: ${res.status} ${await res.text()}`);
  }
  // Ratings come from organizations that use a listing, never its publisher (the demo's wrangler.toml
  // lets them rate without the day and the 3 calls production asks for); globex and the platform
  // organization rate in seedRevenue.
  const ratings = [
    ["@demo/hello", acme.apiKey, 4, "Simple and well documented."],
    ["@demo/advanced-analytics", acme.apiKey, 5, "Percentiles and a trend line in one call."],
  ];
  for (const [plugin, key, stars, review] of ratings) {
    const res = await post(`/v1/marketplace/listings/${plugin}/rating`, key, {
      stars,
      ...(review ? { review } : {}),
    });
    if (res.status !== 200)
      throw new Error(`seeding a rating of ${plugin} failed: ${res.status} ${await res.text()}`);
  }
}

/**
 * Money: a platform organization installs the payment-gateway plugin (granted `payments`, talking
 * to the Stripe stand-in) and the operator makes it the payment processor; the demo developer
 * gets a payout account; a tenant organization (`globex`) gets a card to buy with.
 */
async function seedRevenue(url, demoKey, operatorKey, demoOrgId) {
  const json = (key, method, path, body, extra = {}) =>
    fetch(`${url}${path}`, {
      method,
      headers: { "x-api-key": key, "content-type": "application/json", ...extra },
      body: JSON.stringify(body),
    });
  const expect = async (res, status, what) => {
    if (res.status !== status)
      throw new Error(`seeding ${what} failed: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const platform = await expect(
    await fetch(`${url}/v1/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: "payments@atoll.local",
        name: "Atoll Payments",
        organization: { name: "Atoll Platform", slug: "atoll-platform" },
      }),
    }),
    201,
    "the platform organization",
  );
  const inst = await expect(
    await json(platform.apiKey, "POST", "/v1/installations", {
      plugin: "@demo/payment-gateway",
      environment: "production",
      grants: ["network:api.stripe.com", "secrets:PAYMENT_API_KEY", "storage", "payments"],
      secrets: { PAYMENT_API_KEY: "sk_test_atoll_platform" },
    }),
    201,
    "the payment processor install",
  );
  await expect(
    await json(operatorKey, "PUT", "/v1/operator/payments", { installationId: inst.id }),
    200,
    "the payment processor",
  );
  await expect(
    await json(demoKey, "PUT", "/v1/revenue/payout-account", { account: "acct_demo0000000001" }),
    200,
    "the demo payout account",
  );
  // The demo's operator lifts the demo publisher's payout hold (14 days by default) so that the
  // README's walkthrough can pay out a sale at once.
  await expect(
    await json(operatorKey, "PUT", "/v1/operator/payout-holds", {
      organization: demoOrgId,
      hours: 0,
    }),
    200,
    "the demo publisher's payout hold",
  );
  // The platform organization uses the payment gateway, and rates it (a publisher never rates its own).
  await expect(
    await json(platform.apiKey, "PUT", "/v1/marketplace/listings/@demo/payment-gateway/rating", {
      stars: 5,
      review: "Idempotency keys done right.",
    }),
    200,
    "a rating of the payment gateway",
  );
  const tenant = await expect(
    await fetch(`${url}/v1/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: "admin@globex.example",
        name: "Globex Admin",
        organization: { name: "Globex", slug: "globex" },
      }),
    }),
    201,
    "the tenant organization",
  );
  await expect(
    await json(tenant.apiKey, "PUT", "/v1/billing/payment-method", { paymentMethod: "tok_visa" }),
    200,
    "the tenant's payment method",
  );
  await expect(
    await json(tenant.apiKey, "POST", "/v1/installations", {
      plugin: "@demo/hello",
      grants: ["storage"],
    }),
    201,
    "the tenant's install of hello",
  );
  await expect(
    await json(tenant.apiKey, "PUT", "/v1/marketplace/listings/@demo/hello/rating", {
      stars: 5,
      review: "The clearest starting point for a first plugin.",
    }),
    200,
    "the tenant's rating of hello",
  );
  return { organization: tenant.organization, apiKey: tenant.apiKey };
}

/** Parses a tutorial file: `---` front matter (key: value) and the markdown after it. */
export function readTutorial(text) {
  const m = /^---\n([\s\S]*?)\n---\n+([\s\S]*)$/.exec(text);
  if (!m) throw new Error("a tutorial starts with --- front matter ---");
  const meta = Object.fromEntries(
    m[1].split("\n").map((l) => l.split(/:\s*/, 2).map((x) => x.trim())),
  );
  return {
    slug: meta.slug,
    title: meta.title,
    difficulty: meta.difficulty,
    order: Number(meta.order),
    tags: (meta.tags ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean),
    markdown: m[2],
  };
}

/** Publishes docs/tutorials/*.md through the operator API (a PUT per tutorial: safe on every start). */
export async function seedTutorials(url, operatorKey) {
  const dir = join(ROOT, "docs", "tutorials");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".md"))
    .sort()) {
    const t = readTutorial(readFileSync(join(dir, file), "utf8"));
    const res = await fetch(`${url}/v1/portal/tutorials/${t.slug}`, {
      method: "PUT",
      headers: { "x-api-key": operatorKey, "content-type": "application/json" },
      body: JSON.stringify({
        title: t.title,
        difficulty: t.difficulty,
        order: t.order,
        tags: t.tags,
        markdown: t.markdown,
      }),
    });
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`seeding the tutorial ${file} failed: ${res.status} ${await res.text()}`);
  }
}

export const DEMO = {
  email: "demo@atoll.local",
  name: "Demo Developer",
  organization: { name: "Demo", slug: "demo" },
};

/**
 * Seeds the demo organization through the public API on the first start and writes its
 * credentials to `credentialsPath`. Later starts reuse them when they still work. `standins`
 * ({saas, mail}: URLs) is written beside them, for the documentation's examples.
 */
export async function seedDemo(url, credentialsPath, operatorKey, standins = {}) {
  if (existsSync(credentialsPath)) {
    const saved = JSON.parse(readFileSync(credentialsPath, "utf8"));
    const me = await fetch(`${url}/v1/me`, { headers: { "x-api-key": saved.apiKey } });
    if (me.status === 200) {
      // This start's addresses (ports may differ from the last start's).
      const current = { ...saved, url, standins };
      writeFileSync(credentialsPath, JSON.stringify(current, null, 2) + "\n", { mode: 0o600 });
      return { ...current, created: false };
    }
  }
  const res = await fetch(`${url}/v1/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(DEMO),
  });
  if (res.status === 409) {
    throw new Error(
      "The local database already has the demo organization, but its credentials file is missing or stale.\n" +
        `Reset local state with \`npm run reset\` (deletes .wrangler/state and .atoll), then \`npm start\` again.`,
    );
  }
  if (res.status !== 201)
    throw new Error(`seeding the demo organization failed: ${res.status} ${await res.text()}`);
  const body = await res.json();
  // The demo publishers are verified, so their versions skip review where the platform only
  // auto-approves verified publishers (ATOLL_AUTO_APPROVE=verified).
  await verifyPublisher(url, operatorKey, body.organization.id);
  // The pro plan (1,200 API calls a minute): someone following the docs with the demo key at
  // typing speed, or a script, never meets the free plan's 60 a minute; the rate-limit examples
  // use an organization of their own on the free plan.
  const pro = await fetch(`${url}/v1/operator/organizations/${body.organization.id}/plan`, {
    method: "PUT",
    headers: { "x-api-key": operatorKey, "content-type": "application/json" },
    body: JSON.stringify({ plan: "pro" }),
  });
  if (pro.status !== 200)
    throw new Error(`putting the demo organization on the pro plan failed: ${pro.status}`);
  body.organization.plan = "pro";
  const creds = {
    url,
    /** Where the local stand-ins listen (the examples in docs/ read them from here). */
    standins,
    organization: body.organization,
    user: body.user,
    apiKey: body.apiKey,
    apiKeyId: body.apiKeyId,
    operatorKey,
  };
  // The example plugins: built and published (releases) by the project's own CLI, installed into
  // "development" with the config and secrets of their atoll.dev.json.
  const endpoints = {};
  for (const name of ["hello", "payment-gateway", "advanced-analytics", "slack-responder"]) {
    const dir = join(ROOT, "plugins", name);
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, "packages", "cli", "bin", "atoll.mjs"),
        "publish",
        dir,
        "--url",
        url,
        "--key",
        body.apiKey,
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    if (r.status !== 0)
      throw new Error(`publishing the demo plugin ${name} failed:\n${r.stdout}\n${r.stderr}`);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const devFile = join(dir, "atoll.dev.json");
    const dev = existsSync(devFile) ? JSON.parse(readFileSync(devFile, "utf8")) : {};
    const inst = await fetch(`${url}/v1/installations`, {
      method: "POST",
      headers: { "x-api-key": body.apiKey, "content-type": "application/json" },
      body: JSON.stringify({
        plugin: manifest.name,
        environment: "development",
        config: dev.config ?? {},
        secrets: dev.secrets ?? {},
        grants: manifest.permissions ?? [],
      }),
    });
    if (inst.status !== 201)
      throw new Error(
        `installing the demo plugin ${name} failed: ${inst.status} ${await inst.text()}`,
      );
    endpoints[name] = url.replace(/\/$/, "") + (await inst.json()).endpoint;
  }
  creds.plugins = endpoints;
  creds.tenant = await seedRevenue(url, body.apiKey, operatorKey, body.organization.id);
  await seedCatalogue(url, body.apiKey, operatorKey);
  mkdirSync(dirname(credentialsPath), { recursive: true });
  writeFileSync(credentialsPath, JSON.stringify(creds, null, 2) + "\n", { mode: 0o600 });
  return { ...creds, created: true };
}
