// Serves one Worker locally (workerd through Miniflare, configured from its wrangler.toml by
// wrangler's programmatic API), for the local platform.
// Options arrive as the first line of standard input — never on the command line, where `ps`
// would show the secrets among them. Standard input then stays open: when it closes, the process
// that started this one is gone (however it ended, kill -9 included), and this Worker stops too.
//   { config, port, persist, logLevel, vars: { NAME: "text" }, secrets: { NAME: "text" }, inspectorPort?, directSocket? }
// Unlike `wrangler dev`, this opens no V8 inspector port unless `inspectorPort` is given (a
// developer asks for one with ATOLL_INSPECT=1 npm start): an inspector is an unauthenticated
// console on the Worker and its secrets. Prints "ready <url>" once serving; SIGTERM stops it.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const options = await new Promise((resolve, reject) => {
  let buffered = "";
  const onData = (chunk) => {
    buffered += chunk;
    const newline = buffered.indexOf("\n");
    if (newline < 0) return;
    process.stdin.off("data", onData);
    try {
      resolve(JSON.parse(buffered.slice(0, newline)));
    } catch (err) {
      reject(err);
    }
  };
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", onData);
  process.stdin.once("end", () => reject(new Error("no options on standard input")));
});
// Where the Worker's console output goes: straight to this process's stdout (stderr for warnings
// and errors), one line each. Wrangler's default handler source-maps every line and goes through
// its logger; the access log (one line per request) is on the hot path.
const structuredLogsHandler = ({ level, message }) =>
  (level === "warn" || level === "error" ? process.stderr : process.stdout).write(`${message}\n`);
// Wrangler's own messages (it reads the config) at warn and above only (debug when asked for).
// Miniflare logs no line per request: the Worker writes its own structured one.
process.env.WRANGLER_LOG = options.logLevel === "debug" ? "debug" : "warn";
// Never the local explorer or observability store (unauthenticated /cdn-cgi/local/* routes onto
// every tenant's D1 rows, Durable Object storage and R2 objects), whoever starts this script.
process.env.X_LOCAL_EXPLORER = "false";
process.env.X_LOCAL_OBSERVABILITY = "false";
const wrangler = await import("wrangler");

const bindings = {
  ...Object.fromEntries(
    Object.entries(options.vars ?? {}).map(([name, value]) => [
      name,
      { type: "plain_text", value: String(value) },
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(options.secrets ?? {}).map(([name, value]) => [
      name,
      { type: "secret_text", value: String(value) },
    ]),
  ),
};

/**
 * The Worker on Miniflare itself, listening on `port` — no dev proxy in front (a second
 * workerd process and HTTP hop per request that cost more CPU than the gateway itself, and a
 * queue through one Durable Object), no reloads, no [build] step (local-platform.mjs prepares the
 * assets). With `directSocket` (the plugin host, which only the platform calls), on the Worker's
 * own socket, without Miniflare's routing entry Worker either. Its bindings come from its
 * wrangler.toml, as wrangler dev would read them, and its code is bundled here.
 */
async function serveDirect() {
  const { build } = await import("esbuild");
  const require = createRequire(createRequire(import.meta.url).resolve("wrangler"));
  const { Miniflare, Log, LogLevel, convertV4MiniflareOptions } = require("miniflare");
  // The config as wrangler reads it, less its list of required secrets: they arrive on stdin
  // (bindings, below), and the check would warn of them as missing.
  const config = {
    ...wrangler.unstable_readConfig({ config: options.config }),
    secrets: undefined,
  };
  const { workerOptions, main } = wrangler.unstable_getMiniflareWorkerOptions(config);
  const bundle = await build({
    entryPoints: [main],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    target: "es2024",
    write: false,
    logLevel: "warning",
  });
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      // With `directSocket`, Miniflare's own entry (a routing Worker that rebuilds each request
      // before the user Worker sees it) listens on a free port nobody calls: callers reach the
      // Worker on its direct socket below, one hop less per call. Without, the entry serves
      // `port` (it also serves /cdn-cgi/local/scheduled, which local-cron.mjs fires).
      host: "127.0.0.1",
      port: options.directSocket ? 0 : options.port,
      unsafeTriggerHandlers: !options.directSocket,
      ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
      // Where wrangler dev keeps them (the gateway shares the R2 bucket of packages).
      resourcePersistencePath: join(options.persist, "v3"),
      log: new Log(options.logLevel === "debug" ? LogLevel.DEBUG : LogLevel.WARN),
      handleStructuredLogs: structuredLogsHandler,
      workers: [
        {
          ...workerOptions,
          name: config.name,
          ...(options.directSocket
            ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: options.port }] }
            : {}),
          modules: [
            {
              type: "ESModule",
              path: join(dirname(main), "index.js"),
              contents: bundle.outputFiles[0].text,
            },
          ],
          bindings: {
            ...workerOptions.bindings,
            ...Object.fromEntries(Object.entries(bindings).map(([n, b]) => [n, b.value])),
          },
        },
      ],
    }),
  );
  await mf.ready;
  return { url: `http://127.0.0.1:${options.port}`, dispose: () => mf.dispose() };
}

/**
 * One line naming the Worker's bindings and their kinds (wrangler's own table is an info message,
 * below the level this script runs wrangler at). Names only: never a value.
 */
function bindingSummary() {
  const c = wrangler.unstable_readConfig({ config: options.config });
  const kinds = [
    ...(c.d1_databases ?? []).map((b) => [b.binding, "D1"]),
    ...(c.r2_buckets ?? []).map((b) => [b.binding, "R2"]),
    ...(c.kv_namespaces ?? []).map((b) => [b.binding, "KV"]),
    ...(c.durable_objects?.bindings ?? []).map((b) => [b.name, "Durable Object"]),
    ...(c.queues?.producers ?? []).map((b) => [b.binding, "Queue"]),
    ...(c.services ?? []).map((b) => [b.binding, "Service"]),
    ...(c.worker_loaders ?? []).map((b) => [b.binding, "Worker Loader"]),
    ...(c.dispatch_namespaces ?? []).map((b) => [b.binding, "Dispatch namespace"]),
    ...(c.assets?.binding ? [[c.assets.binding, "Assets"]] : []),
    ...Object.keys({ ...c.vars, ...options.vars }).map((n) => [n, "var"]),
    ...Object.keys(options.secrets ?? {}).map((n) => [n, "secret"]),
  ];
  return `Bindings of ${c.name}: ${kinds.map(([n, k]) => `${n} (${k})`).join(", ")}`;
}

const worker = await serveDirect();
console.log(bindingSummary());
console.log(`ready ${worker.url}`);
let stopping = false;
/**
 * Stops the Worker (workerd flushes its state), then — whatever dispose did — SIGKILLs this
 * process group: the parent starts this script as a group leader (detached), and wrangler's
 * workerd processes are in the group, so none outlives this script even if disposing hangs.
 */
const stop = async () => {
  if (stopping) return;
  stopping = true;
  const killGroup = () => {
    try {
      process.kill(-process.pid, "SIGKILL");
    } catch {
      // not a group leader (started by hand): exiting is all there is
    }
    process.exit(0);
  };
  setTimeout(killGroup, 3_000).unref();
  await worker.dispose().catch(() => undefined);
  killGroup();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The parent's end closes our standard input: when the parent ends in any way (kill -9 included),
// the kernel closes the pipe's write end, and this process stops its Worker.
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
