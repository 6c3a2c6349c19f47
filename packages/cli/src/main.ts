/**
 * The `atoll` command for plugin developers.
 *
 *   atoll init <dir> [--scope <org-slug>]        a new plugin from the hello template
 *   atoll build <dir>                            bundle, validate, package, hash
 *   atoll publish <dir|zip> [--url U] [--key K]  upload to the platform
 *         [--sign FILE] [--source-digest HEX]   … signed with the private key in FILE ($ATOLL_SIGNING_KEY_FILE)
 *   atoll keys generate [--out FILE]             a new Ed25519 signing key pair (default ~/.atoll/signing-key.pem)
 *   atoll keys register [--sign FILE] [--name N] register its public key with your organization (owners)
 *   atoll keys list                              your organization's signing keys
 *   atoll dev <dir> [--port P]                   run the plugin here (workerd, no platform); rebuild on change
 *   atoll dev <dir> --platform [URL] [--key K]   build, publish, install on a platform, print the endpoint
 *   atoll invoke <dir> <hook> [--input JSON]     call initialize|execute|cleanup on the running dev server
 *   atoll test <dir> [--input JSON]              the conformance checks on a fresh standalone server
 *   atoll logs <dir> [--follow]                  the plugin's console output and exceptions (dev server)
 *   atoll logs <dir|ins_…> --platform [URL]      … of its installation on a platform (--follow)
 *   atoll revoke <@scope/name@version> --reason R the kill switch: running installations stop or fall back
 *   atoll webhooks verify --body FILE --signature HEADER
 *                                                checks a delivery's Atoll-Signature with the endpoint's
 *                                                secret from $ATOLL_WEBHOOK_SECRET or --secret-file FILE
 *
 * --url/--key default to $ATOLL_URL/$ATOLL_API_KEY, then to .atoll/local-credentials.json (npm start).
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  watch,
  writeFileSync,
} from "node:fs";
import type { IncomingMessage } from "node:http";
import { basename, dirname, join, resolve } from "node:path";
import { unzipSync } from "fflate";
import semver from "semver";
import { CliError, buildPlugin, readDevFile, readManifest } from "./build";
import { generateKeyFile, provenanceHeader, publicPemOf, sourceDigest } from "./signing";
import { SECRET_PATTERN, verifySignature } from "../../../src/contract/webhook-signature";
import { homedir } from "node:os";
import {
  install,
  installationLogs,
  installations,
  latestVersion,
  listKeys,
  publish,
  registerKey,
  revokeVersion,
  upgrade,
  type LogLine,
  type Target,
} from "./client";
import { fileURLToPath } from "node:url";

/** The starter project `atoll init` copies: shipped with the CLI (packages/cli/template). */
const TEMPLATE = fileURLToPath(new URL("../template", import.meta.url));
const out = (line: string) => process.stdout.write(line + "\n");
const step = (line: string) => out(`• ${line}`);

function parseArgs(argv: string[]): { positional: string[]; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith("--")) {
      // At the first "=" only: a value may hold "=" itself (--signature=t=…,v1=…).
      const eq = a.indexOf("=");
      const [k, v] = eq < 0 ? [a.slice(2), undefined] : [a.slice(2, eq), a.slice(eq + 1)];
      flags[k] =
        v ?? (argv[i + 1] && !argv[i + 1]?.startsWith("--") ? (argv[++i] as string) : "true");
    } else positional.push(a);
  }
  return { positional, flags };
}

function localCredentials(): {
  url: string;
  apiKey: string;
  organization: { slug: string };
} | null {
  // The nearest .atoll/local-credentials.json from the working folder up (what `npm start` writes).
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const p = join(dir, ".atoll", "local-credentials.json");
    if (existsSync(p)) return JSON.parse(readFileSync(p, "utf8"));
    if (dirname(dir) === dir) return null;
  }
}

function target(flags: Record<string, string>): Target {
  const local = localCredentials();
  const url = flags.url ?? process.env.ATOLL_URL ?? local?.url;
  const key = flags.key ?? process.env.ATOLL_API_KEY ?? local?.apiKey;
  if (!url || !key)
    throw new CliError(
      "no platform to talk to: pass --url and --key (or ATOLL_URL and ATOLL_API_KEY), or run npm start first",
    );
  return { url, key };
}

/** Unpacks a marketplace template's `template/` folder into `target`. */
async function fromTemplate(
  name: string,
  target: string,
  flags: Record<string, string>,
): Promise<void> {
  const m = /^(@[a-z0-9-]+)\/([a-z0-9][a-z0-9._-]*)$/.exec(name);
  if (!m)
    throw new CliError(
      `--template takes a listing name such as @acme-tools/storefront-starter, not "${name}"`,
    );
  const url = flags.url ?? process.env.ATOLL_URL ?? localCredentials()?.url;
  if (!url)
    throw new CliError("--template needs the platform: pass --url (or run npm start first)");
  step(`downloading ${name} from ${url}`);
  let res: Response;
  try {
    // With a key, the organization's route serves paid templates it bought too; without, free ones.
    const key = flags.key ?? process.env.ATOLL_API_KEY ?? localCredentials()?.apiKey;
    const base = url.replace(/\/$/, "");
    res = key
      ? await fetch(`${base}/v1/templates/${m[1]}/${m[2]}/package`, {
          headers: { "x-api-key": key },
        })
      : await fetch(`${base}/v1/marketplace/listings/${m[1]}/${m[2]}/package`);
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}`);
  }
  if (res.status !== 200) {
    const problem = (await res.json().catch(() => null)) as { detail?: string } | null;
    throw new CliError(`cannot download ${name}: ${problem?.detail ?? res.status}`);
  }
  const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
  const starter = Object.entries(files).filter(
    ([path]) => path.startsWith("template/") && !path.endsWith("/"),
  );
  if (starter.length === 0) throw new CliError(`${name} has no template/ folder to start from`);
  for (const [path, bytes] of starter) {
    const out = join(target, path.slice("template/".length));
    if (!out.startsWith(target)) throw new CliError(`${name} contains an unsafe path: ${path}`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, bytes);
  }
}

async function init(dir: string | undefined, flags: Record<string, string>): Promise<void> {
  if (!dir)
    throw new CliError("usage: atoll init <dir> [--scope <org-slug>] [--template @scope/name]");
  const target = resolve(dir);
  if (existsSync(target)) throw new CliError(`${dir} already exists`);
  const scope = flags.scope ?? localCredentials()?.organization.slug ?? "my-org";
  const short = basename(target)
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, "-");
  if (flags.template) await fromTemplate(flags.template, target, flags);
  else cpSync(TEMPLATE, target, { recursive: true });
  const manifestPath = join(target, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
  manifest.name = `@${scope}/${short}`;
  manifest.version = "0.1.0";
  manifest.kind = "plugin";
  manifest.description = `${short}: an Atoll plugin`;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
  const packagePath = join(target, "package.json");
  if (existsSync(packagePath)) {
    const pkg = JSON.parse(readFileSync(packagePath, "utf8")) as Record<string, unknown>;
    pkg.name = short;
    writeFileSync(packagePath, JSON.stringify(pkg, null, 2) + "\n");
  }
  // npm leaves .gitignore out of packages, so the template ships it as `gitignore`.
  if (existsSync(join(target, "gitignore")) && !existsSync(join(target, ".gitignore")))
    renameSync(join(target, "gitignore"), join(target, ".gitignore"));
  if (!existsSync(join(target, "atoll.dev.json")))
    writeFileSync(
      join(target, "atoll.dev.json"),
      JSON.stringify({ config: {}, secrets: {} }, null, 2) + "\n",
    );
  readManifest(target);
  step(`created ${dir} (@${scope}/${short}) from ${flags.template ?? "the hello template"}`);
  out(`  next: npx atoll dev ${dir}`);
}

async function buildCmd(dir: string | undefined): Promise<void> {
  if (!dir) throw new CliError("usage: atoll build <dir>");
  step(`building ${dir}`);
  const r = await buildPlugin(dir, { log: (l) => step(l) });
  step(`manifest ok: ${r.manifest.name}@${r.manifest.version}`);
  out(`  ${r.zipPath}\n  size    ${r.bytes.length} bytes\n  sha256  ${r.sha256}`);
}

async function publishCmd(what: string | undefined, flags: Record<string, string>): Promise<void> {
  if (!what) throw new CliError("usage: atoll publish <dir|zip> [--url U] [--key K]");
  const t = target(flags);
  const bytes = what.endsWith(".zip")
    ? new Uint8Array(readFileSync(what))
    : (await buildPlugin(what, { log: step })).bytes;
  const keyFile = flags.sign ?? process.env.ATOLL_SIGNING_KEY_FILE;
  let provenance: string | undefined;
  if (keyFile) {
    const source =
      flags["source-digest"] ?? (what.endsWith(".zip") ? undefined : sourceDigest(what));
    if (!source || !/^[0-9a-f]{64}$/.test(source))
      throw new CliError(
        "signing a .zip needs --source-digest <sha256 hex> (the source it was built from); or publish the folder",
      );
    const signed = await provenanceHeader(bytes, keyFile, source);
    provenance = signed.header;
    step(`signed with ${signed.fingerprint} (source ${source.slice(0, 16)}…)`);
  }
  step(`publishing to ${t.url}`);
  const r = await publish(t, bytes, provenance);
  step(
    `${r.status === "in_review" ? "submitted for review" : "published"}: ${r.plugin}@${r.version} (${r.size} bytes, sha256 ${r.sha256.slice(0, 16)}…)`,
  );
}

const DEFAULT_KEY_FILE = () => join(homedir(), ".atoll", "signing-key.pem");

/** `atoll keys generate|register|list`: the developer's signing key and its registration. */
async function keysCmd(sub: string | undefined, flags: Record<string, string>): Promise<void> {
  if (sub === "generate") {
    const file = resolve(flags.out ?? DEFAULT_KEY_FILE());
    mkdirSync(dirname(file), { recursive: true });
    const k = await generateKeyFile(file);
    step(`wrote ${file} (private: keep it on this machine) and ${file}.pub`);
    out(`  fingerprint ${k.fingerprint}\n  next: npx atoll keys register --sign ${file}`);
    return;
  }
  if (sub === "register") {
    const file = resolve(flags.sign ?? process.env.ATOLL_SIGNING_KEY_FILE ?? DEFAULT_KEY_FILE());
    const pem = publicPemOf(file);
    const k = await registerKey(target(flags), flags.name ?? basename(file), pem);
    step(`registered ${k.fingerprint} as ${k.id} (${k.name})`);
    return;
  }
  if (sub === "list") {
    for (const k of await listKeys(target(flags)))
      out(`${k.id}  ${k.fingerprint}  ${k.name}${k.revokedAt ? `  revoked ${k.revokedAt}` : ""}`);
    return;
  }
  throw new CliError(
    "usage: atoll keys <generate [--out FILE]|register [--sign FILE] [--name N]|list>",
  );
}

/** Build, publish under a fresh dev version, (re)install into development, print the endpoint. */
export async function devOnce(
  dir: string,
  t: Target,
  log: (line: string) => void = step,
): Promise<{ endpoint: string; version: string; installationId: string }> {
  const manifest = readManifest(dir);
  // Always a development version (private to its publisher, no review, never listed): the
  // manifest's version with -dev.N, above everything published so far.
  const latest = await latestVersion(t, manifest.name);
  const candidate = `${manifest.version}-dev.0`;
  const version =
    latest && !semver.gt(candidate, latest)
      ? (semver.inc(latest, "prerelease", "dev") as string)
      : candidate;
  // Build first: a build that fails leaves the running version as it is.
  const built = await buildPlugin(dir, { version, log });
  log(`publishing ${manifest.name}@${version}`);
  await publish(t, built.bytes);
  const dev = readDevFile(dir);
  const running = (await installations(t)).find(
    (i) => i.plugin === manifest.name && i.environment === "development",
  );
  // The same installation is upgraded in place (its URL, storage and config stay); a new one is
  // made only the first time. A failed upgrade keeps the version that was running.
  const inst = running
    ? (log(`upgrading installation ${running.id} (${running.version} → ${version})`),
      await upgrade(t, running.id, {
        version,
        grants: manifest.permissions,
        ...(dev.config ? { config: dev.config } : {}),
        ...(dev.secrets ? { secrets: dev.secrets } : {}),
      }))
    : await install(t, {
        plugin: manifest.name,
        version,
        environment: "development",
        config: dev.config ?? {},
        secrets: dev.secrets ?? {},
        grants: manifest.permissions,
      });
  return { endpoint: t.url.replace(/\/$/, "") + inst.endpoint, version, installationId: inst.id };
}

/** Calls the plugin's root once and reports its time, and whether production's CPU limit would bite. */
async function probe(endpoint: string, t: Target): Promise<void> {
  try {
    const res = await fetch(`${endpoint}/`, { headers: { "x-api-key": t.key } });
    await res.arrayBuffer();
    out(
      `  probe: GET / answered ${res.status} in ${res.headers.get("x-atoll-plugin-time") ?? "?"} ms`,
    );
    const warning = res.headers.get("x-atoll-limit-warning");
    if (warning) out(`  ⚠ ${warning}: in production this call would be stopped`);
  } catch (err) {
    out(`  probe failed: ${(err as Error).message}`);
  }
  out("");
}

/** Where a running standalone dev server says it is (read by `atoll invoke`). */
const devServerFile = (dir: string) => join(resolve(dir), ".atoll", "dev", "server.json");

/** `atoll dev` without --platform: the plugin on this machine, rebuilt on change, storage kept. */
async function standaloneDev(dir: string, flags: Record<string, string>): Promise<void> {
  const { startDevServer } = await import("./standalone");
  const server = await startDevServer(dir, {
    ...(flags.port ? { port: Number(flags.port) } : {}),
    log: step,
  });
  out(
    `\n  ready: ${server.url}   (standalone: workerd on this machine, storage in ${dir}/.atoll/dev)`,
  );
  out(`  try:   curl -s ${server.url}/`);
  out(`         atoll invoke ${dir} execute --input '{}'`);
  if (flags.once === "true") {
    await server.stop();
    return;
  }
  // `atoll invoke` and `atoll logs` ask this process over loopback HTTP, at the port and with the
  // token it writes into the project's .atoll/dev/server.json (readable by this user only). No
  // browser may ask: a request with an Origin, or for another Host (DNS rebinding), is refused.
  const { createServer } = await import("node:http");
  const { randomBytes, timingSafeEqual } = await import("node:crypto");
  const token = randomBytes(24).toString("base64url");
  let hostHeader = "";
  const authorised = (req: IncomingMessage) => {
    const given = Buffer.from(String(req.headers["x-atoll-dev-token"] ?? ""));
    const want = Buffer.from(token);
    return (
      req.method === "POST" &&
      req.headers.origin === undefined &&
      req.headers.host === hostHeader &&
      given.length === want.length &&
      timingSafeEqual(given, want)
    );
  };
  const ipc = createServer((req, res) => {
    if (!authorised(req)) {
      req.resume();
      res.writeHead(403, { "content-type": "application/json" }).end('{"error":"forbidden"}');
      return;
    }
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      try {
        const ask = JSON.parse(body) as { hook?: string; input?: unknown; logsAfter?: number };
        const r =
          ask.logsAfter !== undefined
            ? await server.logs(Number(ask.logsAfter) || 0)
            : await server.lifecycle(String(ask.hook), ask.input);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(r));
      } catch (err) {
        res.writeHead(500).end(JSON.stringify({ error: describe(err) }));
      }
    });
  });
  await new Promise<void>((r) => ipc.listen(0, "127.0.0.1", r));
  const address = ipc.address() as { port: number };
  hostHeader = `127.0.0.1:${address.port}`;
  rmSync(devServerFile(dir), { force: true });
  writeFileSync(
    devServerFile(dir),
    JSON.stringify({
      url: server.url,
      invoke: `http://127.0.0.1:${address.port}`,
      token,
      pid: process.pid,
    }) + "\n",
    { mode: 0o600 },
  );
  step(`watching ${join(dir, "src")} and manifest.json (Ctrl-C stops)`);
  // The plugin's console output and exceptions, as they happen (atoll logs reads the same).
  let shown = 0;
  const showLogs = setInterval(() => {
    server
      .logs(shown)
      .then((r) => {
        for (const line of r.logs) out(formatLog(line));
        shown = r.next;
      })
      .catch(() => undefined);
  }, 500);
  showLogs.unref();
  let timer: NodeJS.Timeout | undefined;
  const again = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const built = await server.reload();
        step(
          `reloaded ${built.manifest.name} (sha256 ${built.sha256.slice(0, 12)}…): storage kept`,
        );
      } catch (err) {
        out(`✗ ${describe(err)}\n  the running version is unchanged; fix and save to try again`);
      }
    }, 200);
  };
  watch(join(dir, "src"), { recursive: true }, again);
  watch(join(dir, "manifest.json"), again);
  const stop = () => void server.stop().finally(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // A wrapper killed without passing the signal on (npx, npm run) leaves this process orphaned:
  // stop then too, so workerd does not keep the port.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 1000).unref();
  await new Promise(() => undefined);
}

/** `atoll invoke <dir> <hook> [--input JSON]`: a lifecycle hook on the running dev server. */
async function invokeCmd(
  dir: string | undefined,
  hook: string | undefined,
  flags: Record<string, string>,
) {
  if (!dir || !hook || !["initialize", "execute", "cleanup"].includes(hook))
    throw new CliError("usage: atoll invoke <dir> <initialize|execute|cleanup> [--input JSON]");
  const file = devServerFile(dir);
  if (!existsSync(file))
    throw new CliError(`no dev server for ${dir}: start one with atoll dev ${dir}`);
  const { invoke, token } = JSON.parse(readFileSync(file, "utf8")) as {
    invoke?: string;
    token?: string;
  };
  const input = inputFlag(flags);
  const manifest = readManifest(dir);
  const payload =
    hook === "execute"
      ? { input }
      : { installationId: "(dev)", config: {}, environment: "development", plugin: manifest.name };
  let res: Response;
  try {
    res = await fetch(invoke ?? "http://127.0.0.1:9", {
      method: "POST",
      headers: { "x-atoll-dev-token": token ?? "" },
      body: JSON.stringify({ hook, input: payload }),
    });
  } catch {
    throw new CliError(`the dev server for ${dir} is not running: start it with atoll dev ${dir}`);
  }
  const r = (await res.json()) as {
    implemented?: boolean;
    status?: number;
    body?: unknown;
    error?: string;
  };
  if (r.error) throw new CliError(r.error);
  if (!r.implemented) throw new CliError(`the plugin does not implement ${hook}`);
  out(JSON.stringify(r.body ?? null, null, 2));
  if ((r.status ?? 200) >= 400) throw new CliError(`${hook} answered ${r.status}`);
}

/**
 * A stranger's text made inert for a terminal: control characters (escape sequences, carriage
 * returns, C1 codes) shown as \xNN, newlines as ⏎, so a plugin can neither drive the terminal nor
 * forge a record.
 */
function inert(text: string): string {
  return text
    .replace(/\n/g, "⏎")
    .replace(
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g,
      (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`,
    );
}

/** One record as a terminal line: time, level, message; a stack indented below. */
export function formatLog(line: LogLine): string {
  const time = new Date(line.at);
  const at = Number.isNaN(time.getTime()) ? "??:??:??.???" : time.toISOString().slice(11, 23);
  const head = `  ${at} ${inert(line.level).padEnd(9)} ${inert(line.message)}`;
  if (!line.stack) return head;
  const stack = line.stack
    .split("\n")
    .map((l) => `      ${inert(l)}`)
    .join("\n");
  return `${head}\n${stack}`;
}

/**
 * `atoll logs <dir> [--follow]`: the running standalone dev server's records; with --platform
 * (or --url), those of the plugin's installation there — `<dir>`'s development installation, or
 * the installation id given.
 */
async function logsCmd(what: string | undefined, flags: Record<string, string>): Promise<void> {
  if (!what)
    throw new CliError(
      "usage: atoll logs <dir> [--follow] | atoll logs <dir|ins_…> --platform [URL]",
    );
  let read: (after: number) => Promise<{ logs: LogLine[]; next: number }>;
  if (flags.platform === undefined && flags.url === undefined) {
    const file = devServerFile(what);
    if (!existsSync(file))
      throw new CliError(
        `no dev server for ${what}: start one with atoll dev ${what}, or read a platform's logs with --platform <url>`,
      );
    const { invoke, token } = JSON.parse(readFileSync(file, "utf8")) as {
      invoke?: string;
      token?: string;
    };
    read = async (after) => {
      let res: Response;
      try {
        res = await fetch(invoke ?? "http://127.0.0.1:9", {
          method: "POST",
          headers: { "x-atoll-dev-token": token ?? "" },
          body: JSON.stringify({ logsAfter: after }),
        });
      } catch {
        throw new CliError(
          `the dev server for ${what} is not running: start it with atoll dev ${what}`,
        );
      }
      const r = (await res.json()) as { logs: LogLine[]; next: number; error?: string };
      if (r.error) throw new CliError(r.error);
      return r;
    };
  } else {
    if (flags.platform && flags.platform !== "true") flags.url = flags.platform;
    const t = target(flags);
    let id = what;
    if (!what.startsWith("ins_")) {
      const manifest = readManifest(what);
      const mine = (await installations(t)).filter((i) => i.plugin === manifest.name);
      const dev =
        mine.find((i) => i.environment === "development") ??
        (mine.length === 1 ? mine[0] : undefined);
      if (!dev)
        throw new CliError(
          mine.length === 0
            ? `${manifest.name} is not installed on ${t.url}: run atoll dev ${what} --platform first`
            : `${manifest.name} has several installations: name one (atoll logs ins_… --platform)`,
        );
      id = dev.id;
    }
    read = (after) => installationLogs(t, id, after);
  }
  let after = 0;
  for (;;) {
    const r = await read(after);
    for (const line of r.logs) out(formatLog(line));
    after = r.next;
    if (r.logs.length >= 500) continue;
    if (flags.follow !== "true") return;
    await new Promise((done) => setTimeout(done, 1000));
  }
}

/** `--input JSON` (default `{}`). */
function inputFlag(flags: Record<string, string>): unknown {
  if (!flags.input) return {};
  try {
    return JSON.parse(flags.input);
  } catch {
    throw new CliError(`--input must be JSON, e.g. --input '{"name":"Ada"}'`);
  }
}

/** `atoll test <dir>`: the conformance checks; exit 1 when one fails. */
/** `atoll revoke @scope/name@version --reason R`: the kill switch. */
async function revokeCmd(what: string | undefined, flags: Record<string, string>): Promise<void> {
  const m = /^(@[a-z0-9-]+\/[a-z0-9][a-z0-9._-]*)@([^@\s]+)$/.exec(what ?? "");
  const reason = flags.reason?.trim();
  if (!m || !reason || reason === "true")
    throw new CliError('usage: atoll revoke <@scope/name@version> --reason "why"');
  const r = await revokeVersion(target(flags), m[1]!, m[2]!, reason);
  step(`revoked ${r.plugin}@${r.version}`);
  out(
    `  ${r.fellBack} installation(s) moved back to the version they ran before, ${r.stopped} stopped (503 until their tenant moves them)`,
  );
}

/**
 * `atoll webhooks verify --body FILE --signature HEADER`: checks a delivery as a receiver does. The
 * secret comes from $ATOLL_WEBHOOK_SECRET or --secret-file, never from the command line.
 */
async function webhooksCmd(
  sub: string | undefined,
  flags: Record<string, string>,
): Promise<number> {
  const usage =
    "usage: atoll webhooks verify --body FILE --signature 't=…,v1=…' [--secret-file FILE] [--tolerance SECONDS] (secret: $ATOLL_WEBHOOK_SECRET or --secret-file)";
  if (sub !== "verify" || !flags.body || !flags.signature || flags.signature === "true")
    throw new CliError(usage);
  if (flags.secret !== undefined)
    throw new CliError(
      "--secret would put the secret on the command line (and in shell history): use $ATOLL_WEBHOOK_SECRET or --secret-file",
    );
  const secret = (
    flags["secret-file"]
      ? readFileSync(flags["secret-file"], "utf8")
      : (process.env.ATOLL_WEBHOOK_SECRET ?? "")
  ).trim();
  if (!SECRET_PATTERN.test(secret))
    throw new CliError(
      "no endpoint secret (whsec_…): set $ATOLL_WEBHOOK_SECRET or pass --secret-file FILE",
    );
  const tolerance = flags.tolerance === undefined ? undefined : Number(flags.tolerance);
  if (tolerance !== undefined && !(Number.isInteger(tolerance) && tolerance >= 0))
    throw new CliError("--tolerance takes a whole number of seconds");
  // The exact bytes received: a re-serialized body would not verify.
  const body = readFileSync(flags.body, "utf8");
  const r = await verifySignature(secret, flags.signature, body, Date.now(), tolerance);
  if (r.ok) {
    out("✓ signature verified");
    return 0;
  }
  const why = {
    missing: "no signature given",
    malformed: "the header is not t=…,v1=…",
    "outside-window": "the timestamp is outside the tolerance (a replay, or a clock far off)",
    mismatch: "no v1 matches: another secret, or the body is not the exact bytes received",
  }[r.reason];
  out(`✗ not verified: ${why}`);
  return 1;
}

async function testCmd(dir: string | undefined, flags: Record<string, string>): Promise<number> {
  if (!dir) throw new CliError("usage: atoll test <dir> [--input JSON]");
  const input = inputFlag(flags);
  const { conformance } = await import("./standalone");
  const checks = await conformance(dir, { input, log: step });
  for (const c of checks) out(`  ${c.ok ? "✓" : "✗"} ${c.name}  (${c.detail})`);
  const failed = checks.filter((c) => !c.ok).length;
  out(
    failed
      ? `\n${failed} of ${checks.length} checks failed`
      : `\nall ${checks.length} checks passed`,
  );
  return failed ? 1 : 0;
}

async function devCmd(dir: string | undefined, flags: Record<string, string>): Promise<void> {
  if (!dir)
    throw new CliError(
      "usage: atoll dev <dir> [--port P] | atoll dev <dir> --platform [URL] [--key K]",
    );
  if (flags.platform === undefined && flags.url === undefined) return standaloneDev(dir, flags);
  if (flags.platform && flags.platform !== "true") flags.url = flags.platform;
  const t = target(flags);
  const run = async () => {
    try {
      const r = await devOnce(dir, t);
      out(
        `\n  ready: ${r.endpoint}   (${r.version})\n  try:   curl -s ${r.endpoint}/ -H "X-API-Key: ${t.key.slice(0, 12)}…"`,
      );
      await probe(r.endpoint, t);
    } catch (err) {
      // Once: the error is the command's (non-zero exit). Watching: say why, keep watching.
      if (flags.once === "true") throw err;
      out(
        `✗ ${(err as Error).message}\n  the running version is unchanged; fix and save to try again`,
      );
    }
  };
  await run();
  if (flags.once === "true") return;
  step(`watching ${join(dir, "src")} and manifest.json (Ctrl-C stops)`);
  let timer: NodeJS.Timeout | undefined;
  const again = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), 200);
  };
  watch(join(dir, "src"), { recursive: true }, again);
  watch(join(dir, "manifest.json"), again);
  await new Promise(() => undefined);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { positional, flags } = parseArgs(rest);
  try {
    switch (command) {
      case "init":
        await init(positional[0], flags);
        return 0;
      case "build":
        await buildCmd(positional[0]);
        return 0;
      case "keys":
        await keysCmd(positional[0], flags);
        return 0;
      case "publish":
        await publishCmd(positional[0], flags);
        return 0;
      case "dev":
        await devCmd(positional[0], flags);
        return 0;
      case "invoke":
        await invokeCmd(positional[0], positional[1], flags);
        return 0;
      case "test":
        return await testCmd(positional[0], flags);
      case "logs":
        await logsCmd(positional[0], flags);
        return 0;
      case "revoke":
        await revokeCmd(positional[0], flags);
        return 0;
      case "webhooks":
        return await webhooksCmd(positional[0], flags);
      default:
        out(
          "usage: atoll <init|build|publish|keys|dev|invoke|test|logs|revoke|webhooks> …\n  init <dir>        a new plugin from the hello template (or --template @scope/name from the marketplace)\n  build <dir>       bundle, validate, package, hash\n  publish <dir|zip> upload to the platform (--url, --key; --sign FILE signs it)\n  keys <generate|register|list> your Ed25519 signing key and its registration\n  dev <dir>         run the plugin here (workerd), rebuild on change; --platform [URL] installs it on a platform\n  invoke <dir> <hook> call initialize|execute|cleanup on the running dev server\n  test <dir>        the conformance checks on a fresh dev server\n  logs <dir>        the plugin's console output and exceptions (--follow; --platform [URL])\n  revoke <@scope/name@version> --reason R   the kill switch\n  webhooks verify   check a delivery's Atoll-Signature (--body FILE --signature H; secret: $ATOLL_WEBHOOK_SECRET)",
        );
        return command ? 2 : 0;
    }
  } catch (err) {
    process.stderr.write(`✗ ${describe(err)}\n`);
    if (!(err instanceof CliError) && process.env.ATOLL_DEBUG) console.error(err);
    return 1;
  }
}

/** One line naming the cause (and the fix where there is one), for any error a command meets. */
export function describe(err: unknown): string {
  if (err instanceof CliError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "ENOENT") return `${e.path ?? "a file"} does not exist`;
  if (e?.code === "EACCES" || e?.code === "EPERM")
    return `${e.path ?? "a file"} cannot be read or written here (permissions)`;
  if (e?.code === "EISDIR") return `${e.path ?? "the path"} is a folder, not a file`;
  const message = e instanceof Error ? e.message : String(err);
  return `${message.split("\n")[0]} (ATOLL_DEBUG=1 shows the stack)`;
}
