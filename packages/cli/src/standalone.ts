/**
 * `atoll dev <dir>` without `--platform`: the plugin on this machine, no platform, no account, no
 * network beyond its grants. The dev host Worker (workers/dev-host, bundled in dist/dev-host.mjs)
 * runs on workerd through wrangler's programmatic API (miniflare underneath) with the platform's
 * own runtime: Worker Loader isolates, the egress gate, installation storage (kept in
 * <dir>/.atoll/dev across rebuilds and restarts), the call headers and path rules. Config and
 * secrets come from atoll.dev.json (git-ignored).
 */
import { randomBytes, createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Wrangler from "wrangler";
import { effectiveLimits } from "../../../src/contract/manifest";
import { CliError, buildPlugin, readDevFile, readManifest, type BuildResult } from "./build";
import type { LogLine } from "./client";

const DEV_HOST = fileURLToPath(new URL("./dev-host.mjs", import.meta.url));
const COMPATIBILITY_DATE = "2026-11-01";

export interface DevServer {
  url: string;
  /** Rebuilds and loads the new code; storage and the URL stay. */
  reload(): Promise<BuildResult>;
  lifecycle(
    hook: string,
    payload: unknown,
  ): Promise<{ implemented: boolean; status: number; body: unknown }>;
  /** The plugin's console output and exceptions after cursor `after` (redacted, newest 1,000). */
  logs(after: number): Promise<{ logs: LogLine[]; next: number }>;
  stop(): Promise<void>;
}

function needsNode22(): void {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12))
    throw new CliError(
      `atoll dev runs plugins on workerd, which needs Node 22.12 or later (this is ${process.versions.node}): add "node": "^22.12.0" to the project's devDependencies (atoll init does), or use --platform <url>`,
    );
}

async function wrangler(): Promise<typeof Wrangler> {
  try {
    return await import("wrangler");
  } catch {
    throw new CliError("atoll dev needs wrangler: npm install --save-dev wrangler");
  }
}

/** A stable installation id per plugin name, so storage survives restarts. */
const installationIdOf = (name: string) =>
  `ins_dev${createHash("sha256").update(name).digest("hex").slice(0, 17)}`;

export async function startDevServer(
  dirArg: string,
  opts: { port?: number; log?: (line: string) => void; state?: string; fresh?: boolean } = {},
): Promise<DevServer> {
  needsNode22();
  const log = opts.log ?? (() => undefined);
  const dir = resolve(dirArg);
  const manifest = readManifest(dir);
  // fresh: empty storage in a folder of its own, removed again by stop() (for tests).
  const state = opts.fresh
    ? mkdtempSync(join(tmpdir(), "atoll-dev-"))
    : (opts.state ?? join(dir, ".atoll", "dev"));
  const dispose = async () => {
    await worker.dispose();
    if (opts.fresh) rmSync(state, { recursive: true, force: true });
  };
  mkdirSync(state, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  const configPath = join(state, "wrangler.json");
  writeFileSync(
    configPath,
    JSON.stringify(
      {
        name: "atoll-dev-host",
        main: DEV_HOST,
        no_bundle: true,
        compatibility_date: COMPATIBILITY_DATE,
        vars: { ATOLL_EGRESS_OVERRIDES: "", ATOLL_GATEWAY_URL: "http://127.0.0.1:9" },
        r2_buckets: [{ binding: "PACKAGES", bucket_name: "atoll-dev" }],
        durable_objects: {
          bindings: [{ name: "INSTALLATION_STORE", class_name: "InstallationStore" }],
        },
        migrations: [{ tag: "v1", new_sqlite_classes: ["InstallationStore"] }],
        worker_loaders: [{ binding: "LOADER" }],
      },
      null,
      2,
    ),
  );
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_LOG ??= "warn";
  // Never the local explorer: it would open the dev state to anything on this machine.
  process.env.X_LOCAL_EXPLORER = "false";
  process.env.X_LOCAL_OBSERVABILITY = "false";
  const { unstable_startWorker } = await wrangler();
  log("starting workerd");
  const worker = await unstable_startWorker({
    config: configPath,
    bindings: { ATOLL_DEV_SECRET: { type: "secret_text", value: secret } },
    dev: {
      server: { hostname: "127.0.0.1", port: opts.port ?? 0 },
      inspector: false,
      persist: join(state, "state"),
      watch: false,
    },
  });
  await worker.ready;
  const url = (await worker.url).toString().replace(/\/$/, "");
  const controlCall = async (path: string, init: RequestInit) => {
    const res = await fetch(`${url}/__atoll-dev/${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), "x-atoll-dev-secret": secret },
    });
    if (!res.ok)
      throw new CliError(`the dev server refused ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  const installationId = installationIdOf(manifest.name);
  let revision = 0;
  const initializedFile = join(state, "initialized");

  const reload = async (): Promise<BuildResult> => {
    const built = await buildPlugin(dir, { log });
    const dev = readDevFile(dir);
    await controlCall("package", {
      method: "PUT",
      headers: { "x-atoll-dev-sha256": built.sha256 },
      body: built.bytes as Uint8Array<ArrayBuffer>,
    });
    revision += 1;
    const m = built.manifest;
    await controlCall("spec", {
      method: "PUT",
      body: JSON.stringify({
        installationId,
        orgId: "org_local",
        environment: "development",
        plugin: m.name,
        pluginId: "plg_local",
        paid: false,
        version: m.version,
        sha256: built.sha256,
        entry: m.entry,
        grants: m.permissions,
        config: dev.config ?? {},
        secrets: dev.secrets ?? {},
        sealedConfig: Object.entries(
          (m.config as { properties?: Record<string, { writeOnly?: boolean }> } | undefined)
            ?.properties ?? {},
        ).flatMap(([k, p]) => (p.writeOnly ? [k] : [])),
        limits: effectiveLimits(m),
        requestsPerMinute: null,
        ...(m.routes ? { routes: m.routes } : {}),
        revision: Date.now() * 1000 + revision,
      }),
    });
    return built;
  };

  const lifecycle = async (hook: string, payload: unknown) =>
    (await (
      await controlCall(`lifecycle/${hook}`, { method: "POST", body: JSON.stringify(payload) })
    ).json()) as { implemented: boolean; status: number; body: unknown };

  try {
    await reload();
    if (!existsSync(initializedFile)) {
      const dev = readDevFile(dir);
      const r = await lifecycle("initialize", {
        installationId,
        config: dev.config ?? {},
        environment: "development",
      });
      if (r.implemented && r.status >= 300)
        throw new CliError(`initialize failed (${r.status}): ${JSON.stringify(r.body)}`);
      writeFileSync(initializedFile, new Date().toISOString());
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  const logs = async (after: number) =>
    (await (await controlCall(`logs?after=${after}`, { method: "GET" })).json()) as {
      logs: LogLine[];
      next: number;
    };

  return { url, reload, lifecycle, logs, stop: dispose };
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * `atoll test`: the platform's conformance checks against the plugin on a fresh standalone dev
 * server (its own state, so a running `atoll dev` is untouched): it builds, loads and
 * initializes; every route the manifest declares answers without a server error within the
 * deadline; execute (when implemented) takes an input; cleanup succeeds.
 */
export async function conformance(
  dirArg: string,
  opts: { input?: unknown; log?: (line: string) => void } = {},
): Promise<Check[]> {
  const dir = resolve(dirArg);
  const state = join(dir, ".atoll", `test-${process.pid}`);
  const checks: Check[] = [];
  let server: DevServer;
  try {
    server = await startDevServer(dir, { state, ...(opts.log ? { log: opts.log } : {}) });
  } catch (err) {
    rmSync(state, { recursive: true, force: true });
    return [{ name: "builds, loads and initializes", ok: false, detail: (err as Error).message }];
  }
  checks.push({ name: "builds, loads and initializes", ok: true, detail: server.url });
  try {
    const manifest = readManifest(dir);
    for (const route of manifest.routes ?? []) {
      const path = route.path
        .replace(/\{[^}]+\}/g, "x")
        .replace(/:\w+/g, "x")
        .replace(/\*$/, "");
      const started = Date.now();
      const method = route.method === "ANY" ? "GET" : route.method;
      const res = await fetch(`${server.url}${path}`, {
        method,
        ...(["GET", "HEAD"].includes(method)
          ? {}
          : { body: "{}", headers: { "content-type": "application/json" } }),
      });
      await res.arrayBuffer();
      // The dev server holds a JSON answer to the schema the route declares for its status.
      const mismatch = res.headers.get("x-atoll-dev-schema") === "mismatch";
      checks.push({
        name: `${route.method} ${route.path}`,
        ok: res.status < 500 && !mismatch,
        detail: `${res.status} in ${Date.now() - started} ms${mismatch ? `; the answer does not match its declared ${res.status} schema (atoll logs says where)` : ""}`,
      });
    }
    const executed = await server.lifecycle("execute", { input: opts.input ?? {} });
    checks.push({
      name: "execute",
      ok: !executed.implemented || executed.status < 500,
      detail: executed.implemented ? `${executed.status}` : "not implemented",
    });
    const cleaned = await server.lifecycle("cleanup", { installationId: "(test)" });
    checks.push({
      name: "cleanup",
      ok: !cleaned.implemented || cleaned.status < 300,
      detail: cleaned.implemented ? `${cleaned.status}` : "not implemented",
    });
  } finally {
    await server.stop();
    rmSync(state, { recursive: true, force: true });
  }
  return checks;
}
