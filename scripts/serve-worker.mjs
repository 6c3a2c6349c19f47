// Serves one Worker locally (workerd through wrangler's programmatic API), for the local platform.
// Options arrive as the first line of standard input — never on the command line, where `ps`
// would show the secrets among them. Standard input then stays open: when it closes, the process
// that started this one is gone (however it ended, kill -9 included), and this Worker stops too.
//   { config, port, persist, logLevel, vars: { NAME: "text" }, secrets: { NAME: "text" }, inspectorPort? }
// Unlike `wrangler dev`, this opens no V8 inspector port unless `inspectorPort` is given (a
// developer asks for one with ATOLL_INSPECT=1 npm start): an inspector is an unauthenticated
// console on the Worker and its secrets. Prints "ready <url>" once serving; SIGTERM stops it.
import { createRequire } from "node:module";
import { stripVTControlCharacters } from "node:util";

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
process.env.WRANGLER_LOG ??= options.logLevel ?? "log";
// Never the local explorer or observability store (unauthenticated /cdn-cgi/local/* routes onto
// every tenant's D1 rows, Durable Object storage and R2 objects), whoever starts this script.
process.env.X_LOCAL_EXPLORER = "false";
process.env.X_LOCAL_OBSERVABILITY = "false";
const { unstable_startWorker } = await import("wrangler");

// One access-log line per request: the Worker writes its own structured line (requestId, status,
// duration, principal; src/platform/http/middleware.ts). Wrangler's dev proxy would add a second,
// unstructured `[wrangler:info] GET /path 200 OK (3ms)` for each request, and its API has no
// switch for it (the proxy's Miniflare keeps `logRequests` at its default), so that one line shape
// is dropped where the proxy's logger prints it: Miniflare's Log (wrangler's own copy).
const { Log } = createRequire(createRequire(import.meta.url).resolve("wrangler"))("miniflare");
const REQUEST_LINE = /^\[wrangler:info\] [A-Z]+ \/\S* \d{3} [^\n]*\(\d+ms\)$/;
const print = Log.prototype.log;
Log.prototype.log = function (message) {
  if (REQUEST_LINE.test(stripVTControlCharacters(String(message)))) return;
  return print.call(this, message);
};

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
const worker = await unstable_startWorker({
  config: options.config,
  bindings,
  dev: {
    server: { hostname: "127.0.0.1", port: options.port },
    inspector: options.inspectorPort
      ? { hostname: "127.0.0.1", port: options.inspectorPort }
      : false,
    persist: options.persist,
    watch: false,
  },
});
await worker.ready;
console.log(`ready ${await worker.url}`);
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
