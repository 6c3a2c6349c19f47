// src/cli/main.ts
import { cpSync, existsSync as existsSync3, readFileSync as readFileSync2, watch, writeFileSync as writeFileSync2 } from "node:fs";
import { basename as basename2, join as join3, resolve } from "node:path";
import semver2 from "semver";

// src/cli/build.ts
import { createHash } from "node:crypto";
import { existsSync as existsSync2, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join as join2 } from "node:path";
import { build } from "esbuild";
import { strToU8, zipSync } from "fflate";

// src/plugins/manifest.ts
import { z } from "zod";
import semver from "semver";

// src/plugins/permissions.ts
var INTEGRATION_PROVIDERS = ["salesforce", "hubspot", "slack", "zapier", "crm"];
var HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
var SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
var TOPIC = /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*){0,4}$/;
function parsePermission(value) {
  const i = value.indexOf(":");
  const kind = i < 0 ? value : value.slice(0, i);
  const arg = i < 0 ? null : value.slice(i + 1);
  switch (kind) {
    case "storage":
    case "payments":
      return arg === null ? { ok: true, permission: { kind } } : { ok: false, reason: `"${kind}" takes no argument` };
    case "network": {
      if (!arg) return { ok: false, reason: "network needs a host, as network:api.example.com" };
      const host = hostProblem(arg);
      return host ? { ok: false, reason: host } : { ok: true, permission: { kind, host: arg } };
    }
    case "secrets":
      return arg && SECRET_NAME.test(arg) ? { ok: true, permission: { kind, name: arg } } : { ok: false, reason: "secret names are upper-case letters, digits and _, starting with a letter (secrets:API_KEY)" };
    case "events":
      return arg && TOPIC.test(arg) ? { ok: true, permission: { kind, topic: arg } } : { ok: false, reason: "event topics are dotted lower-case names (events:installation.created)" };
    case "integrations": {
      const provider = INTEGRATION_PROVIDERS.find((p) => p === arg);
      return provider ? { ok: true, permission: { kind, provider } } : { ok: false, reason: `unknown provider; one of ${INTEGRATION_PROVIDERS.join(", ")}` };
    }
    default:
      return { ok: false, reason: `unknown permission "${kind}"; known: network, storage, secrets, events, integrations, payments` };
  }
}
function hostProblem(host) {
  if (host.includes("*")) return "wildcard hosts are not allowed; list each host";
  if (host.length > 253) return "host is too long";
  if (host !== host.toLowerCase()) return "hosts are lower-case";
  if (host.includes(":") || host.startsWith("[")) return "hosts carry no port and no IPv6 literal";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^\d+$/.test(host) || /^0x/i.test(host)) return "IP addresses are not allowed; use a host name";
  const labels = host.split(".");
  if (labels.length < 2) return "single-label hosts are not allowed";
  if (!labels.every((l) => HOST_LABEL.test(l))) return "not a valid host name";
  const tld = labels.at(-1) ?? "";
  if (["localhost", "local", "internal", "lan", "home", "intranet", "corp", "arpa", "test", "invalid", "example"].includes(tld)) {
    return `".${tld}" names are private or reserved`;
  }
  if (/^\d+$/.test(tld)) return "IP addresses are not allowed; use a host name";
  return null;
}
function checkPermissions(values) {
  const problems = [];
  const seen = /* @__PURE__ */ new Set();
  for (const value of values) {
    if (seen.has(value)) problems.push({ permission: value, reason: "declared twice" });
    seen.add(value);
    const parsed = parsePermission(value);
    if (!parsed.ok) problems.push({ permission: value, reason: parsed.reason });
  }
  return problems;
}

// src/plugins/manifest.ts
var SUPPORTED_API_VERSIONS = ["1"];
var LIMIT_CAPS = { cpuMs: 1e3, subrequests: 50, requestsPerMinute: 1e5 };
var NAME = /^@([a-z0-9](?:[a-z0-9-]{1,37}[a-z0-9]))\/([a-z0-9][a-z0-9._-]{0,63})$/;
var MODULE_PATH = /^(?!\/)(?!.*\.\.)[A-Za-z0-9_./-]{1,200}\.(?:m?js)$/;
var Route = z.object({
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"]).default("ANY"),
  path: z.string().regex(/^\/[A-Za-z0-9_\-./:{}*]*$/, "must be an absolute path like /charges/{id}").max(200),
  summary: z.string().max(200).optional()
}).strict();
var Pricing = z.object({
  model: z.enum(["free", "one-time", "subscription", "usage"]),
  /** Integer minor units (cents): never a float. */
  amount: z.number().int().nonnegative().max(1e8).optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD").optional(),
  interval: z.enum(["month", "year"]).optional(),
  unit: z.string().max(50).optional()
}).strict().superRefine((p, ctx) => {
  if (p.model !== "free" && (p.amount === void 0 || !p.currency)) ctx.addIssue({ code: "custom", message: "paid pricing needs amount (minor units) and currency" });
  if (p.model === "subscription" && !p.interval) ctx.addIssue({ code: "custom", path: ["interval"], message: "subscriptions need an interval" });
});
var Manifest = z.object({
  name: z.string().regex(NAME, "must be a scoped name, @publisher/name, lower-case"),
  version: z.string().max(64).refine((v) => semver.valid(v) === v, "must be a semantic version such as 1.2.3"),
  description: z.string().min(1).max(500),
  author: z.union([z.string().min(1).max(200), z.object({ name: z.string().min(1).max(200), email: z.string().email().optional(), url: z.string().url().optional() }).strict()]),
  kind: z.enum(["plugin", "app", "template"]),
  entry: z.string().regex(MODULE_PATH, "must be a relative .js or .mjs path inside the package"),
  apiVersion: z.string().refine((v) => SUPPORTED_API_VERSIONS.includes(v), {
    message: `is not supported by this platform; supported: ${SUPPORTED_API_VERSIONS.join(", ")}`
  }),
  permissions: z.array(z.string().max(300)).max(50).default([]).superRefine((perms, ctx) => {
    for (const p of checkPermissions(perms)) ctx.addIssue({ code: "custom", message: `${p.permission}: ${p.reason}`, params: { permission: p.permission } });
  }),
  routes: z.array(Route).max(100).default([]),
  config: z.record(z.string(), z.unknown()).optional().describe("JSON Schema of the installation settings; properties marked writeOnly are secrets"),
  limits: z.object({
    cpuMs: z.number().int().min(1).max(LIMIT_CAPS.cpuMs).optional(),
    subrequests: z.number().int().min(1).max(LIMIT_CAPS.subrequests).optional(),
    requestsPerMinute: z.number().int().min(1).max(LIMIT_CAPS.requestsPerMinute).optional()
  }).strict().default({}),
  pricing: Pricing.default({ model: "free" }),
  category: z.string().min(1).max(50).default("other"),
  keywords: z.array(z.string().min(1).max(50)).max(20).default([]),
  icon: z.string().max(500).optional(),
  homepage: z.string().url().max(500).optional(),
  license: z.string().min(1).max(100).default("UNLICENSED")
}).strict();
function validateManifest(value) {
  const r = Manifest.safeParse(value);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, errors: r.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(manifest)", message: i.message })) };
}
function splitName(name) {
  const m = NAME.exec(name);
  return m?.[1] && m[2] ? { scope: m[1], short: m[2] } : null;
}

// src/cli/root.ts
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
function projectRoot() {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (; ; ) {
    if (existsSync(join(dir, "src", "sdk", "index.ts"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the Atoll project (src/sdk/index.ts)");
    dir = parent;
  }
}

// src/cli/build.ts
var SDK_ENTRY = join2(projectRoot(), "src", "sdk", "index.ts");
var CliError = class extends Error {
};
function readManifest(dir) {
  const path = join2(dir, "manifest.json");
  if (!existsSync2(path)) throw new CliError(`${path} not found: is ${dir} a plugin folder? (atoll init <dir> makes one)`);
  let raw;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`${path} is not valid JSON: ${err.message}`);
  }
  const r = validateManifest(raw);
  if (!r.ok) throw new CliError(`manifest.json is invalid:
${r.errors.map((e) => `  - ${e.path}: ${e.message}`).join("\n")}`);
  return r.manifest;
}
function sourceEntry(dir) {
  for (const candidate of ["src/index.ts", "src/index.js", "index.ts"]) {
    if (existsSync2(join2(dir, candidate))) return join2(dir, candidate);
  }
  throw new CliError(`no source entry in ${dir} (expected src/index.ts)`);
}
async function buildPlugin(dir, opts = {}) {
  const log = opts.log ?? (() => void 0);
  const manifest = readManifest(dir);
  if (opts.version) manifest.version = opts.version;
  const entry = sourceEntry(dir);
  log(`bundling ${entry}`);
  const out2 = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    alias: { "@atoll/sdk": SDK_ENTRY },
    external: ["cloudflare:*"],
    write: false,
    logLevel: "silent",
    legalComments: "none"
  }).catch((err) => {
    const detail = (err.errors ?? []).map((e) => `  - ${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}`).join("\n");
    throw new CliError(`bundling failed:
${detail || String(err)}`);
  });
  const code = out2.outputFiles[0]?.contents;
  if (!code) throw new CliError("bundling produced no output");
  const rawManifest = JSON.parse(readFileSync(join2(dir, "manifest.json"), "utf8"));
  if (opts.version) rawManifest.version = opts.version;
  const bytes = zipSync({ "manifest.json": strToU8(JSON.stringify(rawManifest, null, 2)), [manifest.entry]: code }, { level: 9 });
  const short = splitName(manifest.name)?.short ?? basename(dir);
  const distDir = join2(dir, "dist");
  mkdirSync(distDir, { recursive: true });
  const zipPath = join2(distDir, `${short}-${manifest.version}.zip`);
  writeFileSync(zipPath, bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return { manifest, zipPath, bytes, sha256 };
}

// src/cli/client.ts
async function call(t, path, init2 = {}) {
  let res;
  try {
    res = await fetch(t.url.replace(/\/$/, "") + path, { ...init2, headers: { "x-api-key": t.key, ...init2.headers } });
  } catch (err) {
    throw new CliError(`cannot reach ${t.url}: ${err.message} (is the platform running? npm start)`);
  }
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  return { status: res.status, body };
}
function fail(what, status, p) {
  const lines = [`${what} failed (${status}): ${p?.detail ?? p?.title ?? "no detail"}`];
  for (const e of p?.errors ?? []) lines.push(`  - ${e.path}: ${e.message}`);
  throw new CliError(lines.join("\n"));
}
async function publish(t, bytes) {
  const r = await call(t, "/v1/packages", { method: "POST", headers: { "content-type": "application/zip" }, body: bytes });
  if (r.status !== 201) fail("publish", r.status, r.body);
  return r.body;
}
async function latestVersion(t, name) {
  const [scope, short] = name.split("/");
  const r = await call(t, `/v1/plugins/${scope}/${short}`);
  if (r.status === 404) return null;
  if (r.status !== 200) fail("looking up the plugin", r.status, r.body);
  return r.body.versions[0]?.version ?? null;
}
async function installations(t) {
  const r = await call(t, "/v1/installations");
  if (r.status !== 200) fail("listing installations", r.status, r.body);
  return r.body.installations;
}
async function uninstall(t, id) {
  const r = await call(t, `/v1/installations/${id}`, { method: "DELETE" });
  if (r.status !== 204) fail("uninstall", r.status, r.body);
}
async function install(t, body) {
  const r = await call(t, "/v1/installations", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (r.status !== 201) fail("install", r.status, r.body);
  return r.body;
}

// src/cli/main.ts
var ROOT = projectRoot();
var out = (line) => process.stdout.write(line + "\n");
var step = (line) => out(`\u2022 ${line}`);
function parseArgs(argv) {
  const positional = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const [k, v] = a.slice(2).split("=", 2);
      flags[k] = v ?? (argv[i + 1] && !argv[i + 1]?.startsWith("--") ? argv[++i] : "true");
    } else positional.push(a);
  }
  return { positional, flags };
}
function localCredentials() {
  for (const dir of [process.cwd(), ROOT]) {
    const p = join3(dir, ".atoll", "local-credentials.json");
    if (existsSync3(p)) return JSON.parse(readFileSync2(p, "utf8"));
  }
  return null;
}
function target(flags) {
  const local = localCredentials();
  const url = flags.url ?? process.env.ATOLL_URL ?? local?.url;
  const key = flags.key ?? process.env.ATOLL_API_KEY ?? local?.apiKey;
  if (!url || !key) throw new CliError("no platform to talk to: pass --url and --key (or ATOLL_URL and ATOLL_API_KEY), or run npm start first");
  return { url, key };
}
async function init(dir, flags) {
  if (!dir) throw new CliError("usage: atoll init <dir> [--scope <org-slug>]");
  const target2 = resolve(dir);
  if (existsSync3(target2)) throw new CliError(`${dir} already exists`);
  const scope = flags.scope ?? localCredentials()?.organization.slug ?? "my-org";
  const short = basename2(target2).toLowerCase().replace(/[^a-z0-9._-]/g, "-");
  cpSync(join3(ROOT, "plugins", "hello"), target2, { recursive: true, filter: (src) => !src.includes(`${join3("hello", "dist")}`) && !src.endsWith("conformance.json") });
  const manifestPath = join3(target2, "manifest.json");
  const manifest = JSON.parse(readFileSync2(manifestPath, "utf8"));
  manifest.name = `@${scope}/${short}`;
  manifest.version = "0.1.0";
  manifest.description = `${short}: an Atoll plugin`;
  writeFileSync2(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
  writeFileSync2(join3(target2, "atoll.dev.json"), JSON.stringify({ config: { greeting: "Hello" }, secrets: {} }, null, 2) + "\n");
  readManifest(target2);
  step(`created ${dir} (@${scope}/${short}) from the hello template`);
  out(`  next: npx atoll dev ${dir}`);
}
async function buildCmd(dir) {
  if (!dir) throw new CliError("usage: atoll build <dir>");
  step(`building ${dir}`);
  const r = await buildPlugin(dir, { log: (l) => step(l) });
  step(`manifest ok: ${r.manifest.name}@${r.manifest.version}`);
  out(`  ${r.zipPath}
  size    ${r.bytes.length} bytes
  sha256  ${r.sha256}`);
}
async function publishCmd(what, flags) {
  if (!what) throw new CliError("usage: atoll publish <dir|zip> [--url U] [--key K]");
  const t = target(flags);
  const bytes = what.endsWith(".zip") ? new Uint8Array(readFileSync2(what)) : (await buildPlugin(what, { log: step })).bytes;
  step(`publishing to ${t.url}`);
  const r = await publish(t, bytes);
  step(`published ${r.plugin}@${r.version} (${r.size} bytes, sha256 ${r.sha256.slice(0, 16)}\u2026)`);
}
async function devOnce(dir, t, log = step) {
  const manifest = readManifest(dir);
  const latest = await latestVersion(t, manifest.name);
  const version = latest && !semver2.gt(manifest.version, latest) ? semver2.inc(latest, "prerelease", "dev") : manifest.version;
  const built = await buildPlugin(dir, { version, log });
  log(`publishing ${manifest.name}@${version}`);
  await publish(t, built.bytes);
  for (const i of await installations(t)) {
    if (i.plugin === manifest.name && i.environment === "development") {
      log(`replacing installation ${i.id} (${i.version})`);
      await uninstall(t, i.id);
    }
  }
  const devFile = join3(dir, "atoll.dev.json");
  const dev = existsSync3(devFile) ? JSON.parse(readFileSync2(devFile, "utf8")) : {};
  const inst = await install(t, { plugin: manifest.name, version, environment: "development", config: dev.config ?? {}, secrets: dev.secrets ?? {}, grants: manifest.permissions });
  return { endpoint: t.url.replace(/\/$/, "") + inst.endpoint, version, installationId: inst.id };
}
async function devCmd(dir, flags) {
  if (!dir) throw new CliError("usage: atoll dev <dir> [--url U] [--key K]");
  const t = target(flags);
  const run = async () => {
    try {
      const r = await devOnce(dir, t);
      out(`
  ready: ${r.endpoint}   (${r.version})
  try:   curl -s ${r.endpoint}/ -H "X-API-Key: ${t.key.slice(0, 12)}\u2026"
`);
    } catch (err) {
      out(`\u2717 ${err.message}`);
    }
  };
  await run();
  if (flags.once === "true") return;
  step(`watching ${join3(dir, "src")} and manifest.json (Ctrl-C stops)`);
  let timer;
  const again = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), 200);
  };
  watch(join3(dir, "src"), { recursive: true }, again);
  watch(join3(dir, "manifest.json"), again);
  await new Promise(() => void 0);
}
async function main(argv) {
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
      case "publish":
        await publishCmd(positional[0], flags);
        return 0;
      case "dev":
        await devCmd(positional[0], flags);
        return 0;
      default:
        out("usage: atoll <init|build|publish|dev> \u2026\n  init <dir>        a new plugin from the hello template\n  build <dir>       bundle, validate, package, hash\n  publish <dir|zip> upload to the platform (--url, --key)\n  dev <dir>         build, publish, install, print the endpoint; rebuild on change");
        return command ? 2 : 0;
    }
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`\u2717 ${err.message}
`);
      return 1;
    }
    throw err;
  }
}
export {
  devOnce,
  main
};
