// Serves one Worker locally (workerd through wrangler's programmatic API), for the local platform.
// Options arrive as the first line of standard input — never on the command line, where `ps`
// would show the secrets among them. Standard input then stays open: when it closes, the process
// that started this one is gone (however it ended, kill -9 included), and this Worker stops too.
//   { config, port, persist, logLevel, vars: { NAME: "text" }, secrets: { NAME: "text" }, inspectorPort? }
// Unlike `wrangler dev`, this opens no V8 inspector port unless `inspectorPort` is given (a
// developer asks for one with ATOLL_INSPECT=1 npm start): an inspector is an unauthenticated
// console on the Worker and its secrets. Prints "ready <url>" once serving; SIGTERM stops it.
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
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await worker.dispose().catch(() => undefined);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The parent's end closes our standard input.
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
