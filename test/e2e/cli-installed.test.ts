/**
 * The SDK and the CLI as a third party gets them: packed into tarballs (`npm pack`), installed
 * with npm into a folder outside this repository, and used from there — `atoll init`, `atoll
 * build` (byte-identical twice), `atoll dev --platform` against the local platform (the same
 * installation upgraded in place: URL and storage kept), and one-line errors.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
  apiKey: string;
  organization: { slug: string };
};
const root = join(import.meta.dirname, "..", "..");
const outside = mkdtempSync(join(tmpdir(), "atoll-outside-"));
afterAll(() => rmSync(outside, { recursive: true, force: true }));
const npm = (args: string[], cwd: string) =>
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" },
  });

function atoll(...args: string[]) {
  return atollWith({}, ...args);
}
/** Nothing of this repository on the path: only the installed packages (and their Node 22). */
const cleanEnv = (extra: Record<string, string> = {}) => ({
  PATH: `${join(outside, "node_modules", ".bin")}:/usr/local/bin:/usr/bin:/bin`,
  HOME: outside,
  ...extra,
});
function atollWith(extra: Record<string, string>, ...args: string[]) {
  return spawnSync(join(outside, "node_modules", ".bin", "atoll"), args, {
    cwd: outside,
    encoding: "utf8",
    env: cleanEnv({ ATOLL_URL: base, ATOLL_API_KEY: creds.apiKey, ...extra }),
  });
}

/** `atoll dev <dir>` standalone, in the background; resolves with its URL once it is ready. */
function standalone(dir: string): Promise<{ url: string; output: () => string; stop: () => void }> {
  const child = spawn(join(outside, "node_modules", ".bin", "atoll"), ["dev", dir], {
    cwd: outside,
    env: cleanEnv(),
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`atoll dev did not start:\n${output}`)),
      60_000,
    );
    const poll = setInterval(() => {
      const url = /ready: (http\S+)/.exec(output)?.[1];
      if (url) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ url, output: () => output, stop: () => child.kill("SIGTERM") });
      }
    }, 100);
    child.on("exit", () => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`atoll dev exited:\n${output}`));
    });
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000) {
  for (const started = Date.now(); Date.now() - started < ms;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(() => {
  const packs = join(outside, "packs");
  mkdirSync(packs);
  npm(
    [
      "pack",
      "--pack-destination",
      packs,
      "-w",
      "packages/sdk",
      "-w",
      "packages/cli",
      "-w",
      "packages/create-atoll",
    ],
    root,
  );
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  expect(tarballs.map((t) => t.replace(/.*\//, "")).sort()).toEqual([
    "atoll-cli-0.1.0.tgz",
    "atoll-sdk-0.1.0.tgz",
    "create-atoll-0.1.0.tgz",
  ]);
  // As a plugin project does (atoll init's package.json): Node 22 for workerd, its install
  // scripts allowed.
  writeFileSync(
    join(outside, "package.json"),
    JSON.stringify({
      name: "outside",
      private: true,
      allowScripts: { node: true, workerd: true, esbuild: true, sharp: false },
    }),
  );
  // wrangler too: the CLI's optional peer, which only the standalone `atoll dev` needs (atoll
  // init's package.json lists it).
  const wrangler = JSON.parse(readFileSync(join(root, "packages", "cli", "package.json"), "utf8"))
    .peerDependencies.wrangler as string;
  // vitest: the template's own first test (npm test) runs on it.
  const vitest = JSON.parse(
    readFileSync(join(root, "packages", "cli", "template", "package.json"), "utf8"),
  ).devDependencies.vitest as string;
  const started = Date.now();
  npm(["install", ...tarballs, "node@22", `wrangler@${wrangler}`, `vitest@${vitest}`], outside);
  console.log(
    `npm install of the CLI, SDK, Node 22, wrangler and vitest: ${Date.now() - started} ms`,
  );
}, 180_000);

describe("the SDK and CLI installed from their tarballs, outside the repository", () => {
  it("ship built JavaScript and declarations, and none of the repository's source", () => {
    const sdk = join(outside, "node_modules", "@atoll", "sdk");
    expect(readdirSync(join(sdk, "dist")).sort()).toEqual([
      "index.d.ts",
      "index.js",
      "protocol.d.ts",
    ]);
    expect(existsSync(join(sdk, "src"))).toBe(false);
    const cli = join(outside, "node_modules", "@atoll", "cli");
    expect(existsSync(join(cli, "src"))).toBe(false);
    expect(readFileSync(join(cli, "dist", "cli.mjs"), "utf8")).not.toContain(root);
    // Every import is a package the SDK depends on: nothing relative reaches outside dist/.
    const imports = [
      ...readFileSync(join(sdk, "dist", "index.js"), "utf8").matchAll(/from "([^"]+)"/g),
    ].map((m) => m[1]);
    expect(imports).toEqual(["itty-router"]);
  });

  it("init makes a project; build is reproducible; errors are one line", async () => {
    const init = atoll("init", "outside-plugin", "--scope", creds.organization.slug);
    expect(init.status, init.stdout + init.stderr).toBe(0);
    const project = join(outside, "outside-plugin");
    expect(readdirSync(project).sort()).toEqual(
      [
        ".gitignore",
        "README.md",
        "atoll.dev.json",
        "manifest.json",
        "package.json",
        "src",
        "test",
        "tsconfig.json",
      ].sort(),
    );
    expect(JSON.parse(readFileSync(join(project, "package.json"), "utf8"))).toMatchObject({
      name: "outside-plugin",
      dependencies: { "@atoll/sdk": expect.any(String) },
    });
    const first = atoll("build", "outside-plugin");
    expect(first.status, first.stdout + first.stderr).toBe(0);
    // Touch the source (same content, new time): the package's bytes must not change.
    const src = join(project, "src", "index.ts");
    writeFileSync(src, readFileSync(src));
    // Later (zip time stamps have a 2 s resolution) and in another time zone.
    await new Promise((r) => setTimeout(r, 2100));
    const second = atollWith({ TZ: "Pacific/Kiritimati" }, "build", "outside-plugin");
    const sha = (out: string) => /sha256\s+([0-9a-f]{64})/.exec(out)?.[1];
    expect(sha(first.stdout)).toBeTruthy();
    expect(sha(second.stdout)).toBe(sha(first.stdout));

    // npm create atoll: the same project.
    const created = spawnSync(
      join(outside, "node_modules", ".bin", "create-atoll"),
      ["from-create", "--scope", creds.organization.slug],
      { cwd: outside, encoding: "utf8", env: cleanEnv() },
    );
    expect(created.status, created.stdout + created.stderr).toBe(0);
    expect(existsSync(join(outside, "from-create", "manifest.json"))).toBe(true);

    const missing = atoll("publish", "missing.zip");
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe("✗ missing.zip does not exist");
  });

  it(
    "dev runs the plugin standalone: no platform, edits reload, storage kept",
    { timeout: 180_000 },
    async () => {
      const init = atoll("init", "solo", "--scope", "solo-dev");
      expect(init.status, init.stdout + init.stderr).toBe(0);
      const started = Date.now();
      let dev = await standalone("solo");
      const firstCallMs = Date.now() - started;
      const visit = async (url: string) =>
        ((await (await fetch(`${url}/visits`, { method: "POST" })).json()) as { visits: number })
          .visits;
      expect([await visit(dev.url), await visit(dev.url)]).toEqual([1, 2]);
      // The plugin's console output: printed by atoll dev, and by atoll logs.
      await until("the dev server printing the visits", () => /visit 2/.test(dev.output()));
      const logs = atoll("logs", "solo");
      expect(logs.status, logs.stdout + logs.stderr).toBe(0);
      expect(logs.stdout).toMatch(/log\s+visit 1\n.*log\s+visit 2/s);
      const root = (await (await fetch(`${dev.url}/`)).json()) as Record<string, unknown>;
      // The platform's call headers: who is calling, which installation.
      expect(root).toMatchObject({ plugin: "hello", caller: { organization: "org_local" } });
      expect(root.installedAt).toEqual(expect.any(String)); // initialize ran
      // The platform's path rules and the manifest's routes, before the isolate wakes.
      expect((await fetch(`${dev.url}/__atoll/initialize`)).status).toBe(400);
      const wrongMethod = await fetch(`${dev.url}/visits`);
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get("allow")).toBe("POST");
      expect((await fetch(`${dev.url}/undeclared`)).status).toBe(404);
      // An edit reloads; storage is kept.
      const src = join(outside, "solo", "src", "index.ts");
      writeFileSync(
        src,
        readFileSync(src, "utf8").replace('plugin: "hello"', 'plugin: "solo, edited"'),
      );
      await until("the reload", () => /reloaded/.test(dev.output()));
      expect(await (await fetch(`${dev.url}/`)).json()).toMatchObject({ plugin: "solo, edited" });
      expect(await visit(dev.url)).toBe(3);
      // Lifecycle hooks on the running server.
      const invoked = atoll("invoke", "solo", "execute", "--input", '{"name":"Ada"}');
      expect(invoked.status, invoked.stdout + invoked.stderr).toBe(0);
      expect(JSON.parse(invoked.stdout)).toEqual({ output: { message: "Hello, Ada!" } });
      // A failing build keeps the running version.
      writeFileSync(src, "export default {");
      await until("the refusal", () => /bundling failed/.test(dev.output()));
      expect(await visit(dev.url)).toBe(4);
      dev.stop();
      // A restart keeps the storage too.
      writeFileSync(
        src,
        readFileSync(join(outside, "node_modules", "@atoll", "cli", "template", "src", "index.ts")),
      );
      await new Promise((r) => setTimeout(r, 500));
      dev = await standalone("solo");
      expect(await visit(dev.url)).toBe(5);
      dev.stop();
      // atoll test: the conformance checks on a fresh server of its own.
      const passed = atoll("test", "solo");
      expect(passed.status, passed.stdout + passed.stderr).toBe(0);
      expect(passed.stdout).toMatch(/✓ GET \/hello\/\{name\}/);
      expect(passed.stdout).toMatch(/all 6 checks passed/);
      const good = readFileSync(src, "utf8");
      writeFileSync(
        src,
        good.replace(
          'router.get("/", async (_req, ctx) => ({',
          'router.get("/", () => { throw new Error("boom"); }); router.get("/old", async (_req, ctx) => ({',
        ),
      );
      const failed = atoll("test", "solo");
      expect(failed.status, failed.stdout + failed.stderr).toBe(1);
      expect(failed.stdout).toMatch(/✗ GET \/ /);
      writeFileSync(src, good);
      // An answer that breaks the schema its route declares fails atoll test too.
      const manifestPath = join(outside, "solo", "manifest.json");
      const manifest = readFileSync(manifestPath, "utf8");
      const m = JSON.parse(manifest) as { routes: { path: string; responses?: unknown }[] };
      for (const r of m.routes)
        if (r.path === "/hello/{name}")
          r.responses = { "200": { type: "object", required: ["greeting"] } };
      writeFileSync(manifestPath, JSON.stringify(m));
      const mismatch = atoll("test", "solo");
      expect(mismatch.status, mismatch.stdout + mismatch.stderr).toBe(1);
      expect(mismatch.stdout).toMatch(
        /✗ GET \/hello\/\{name\}.*does not match its declared 200 schema/,
      );
      writeFileSync(manifestPath, manifest);
      // The template's own first test (vitest, on the same standalone server, fresh storage).
      const own = spawnSync("npm", ["test", "--loglevel=error"], {
        cwd: join(outside, "solo"),
        encoding: "utf8",
        env: cleanEnv({ npm_config_update_notifier: "false" }),
      });
      expect(own.status, own.stdout + own.stderr).toBe(0);
      expect(own.stdout).toMatch(/4 passed/);
      console.log(`standalone dev: init to a first answer in ${firstCallMs} ms`);
    },
  );

  it(
    "the README's first-plugin block, as written: from an empty folder to an answer",
    { timeout: 180_000 },
    () => {
      const readme = readFileSync(join(root, "README.md"), "utf8");
      const section = readme.slice(readme.indexOf("### Your first plugin"));
      const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
      expect(block).toMatch(/atoll dev hello/);
      const started = Date.now();
      // Nothing of this repository on the path: the system's Node 20 and npm, and what the block installs.
      const run = spawnSync("bash", ["-euo", "pipefail", "-c", block], {
        cwd: root,
        encoding: "utf8",
        env: {
          PATH: "/usr/local/bin:/usr/bin:/bin",
          HOME: process.env.HOME ?? outside,
          npm_config_update_notifier: "false",
        },
        timeout: 170_000,
      });
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('{"message":"Hello, Ada!"}');
      const commands = block.split("\n").filter((l) => /^(npm install|atoll|until curl)/.test(l));
      console.log(
        `README first plugin: ${Date.now() - started} ms from an empty folder to an answer (packing included), ${commands.length} commands after packing`,
      );
    },
  );

  it(
    "dev --platform upgrades the same installation in place: URL and storage kept",
    { timeout: 90_000 },
    async () => {
      const key = { "x-api-key": creds.apiKey };
      const first = atoll("dev", "outside-plugin", "--platform", "--once");
      expect(first.status, first.stdout + first.stderr).toBe(0);
      const endpoint = /ready: (\S+)/.exec(first.stdout)?.[1] as string;
      const visit = async () =>
        (
          (await (await fetch(`${endpoint}/visits`, { method: "POST", headers: key })).json()) as {
            visits: number;
          }
        ).visits;
      expect([await visit(), await visit()]).toEqual([1, 2]);
      // Its logs on the platform (the plugin host's tail, through the gateway), redacted.
      await until("the platform's logs", () => {
        const logs = atoll("logs", "outside-plugin", "--platform");
        return logs.status === 0 && /visit 1\n.*visit 2/s.test(logs.stdout);
      });
      // A dev build is private: not in the marketplace.
      expect(first.stdout).toMatch(/0\.1\.0-dev\.0/);
      const listing = await fetch(
        `${base}/v1/marketplace/listings/@${creds.organization.slug}/outside-plugin`,
      );
      expect(listing.status).toBe(404);
      const src = join(outside, "outside-plugin", "src", "index.ts");
      writeFileSync(
        src,
        readFileSync(src, "utf8").replace('plugin: "hello"', 'plugin: "hello, edited"'),
      );
      const again = atoll("dev", "outside-plugin", "--platform", "--once");
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/upgrading installation/);
      expect(/ready: (\S+)/.exec(again.stdout)?.[1]).toBe(endpoint);
      expect(await (await fetch(`${endpoint}/`, { headers: key })).json()).toMatchObject({
        plugin: "hello, edited",
      });
      expect(await visit()).toBe(3);
      // A build that fails exits non-zero and leaves the running version answering.
      writeFileSync(src, "export default {");
      const broken = atoll("dev", "outside-plugin", "--platform", "--once");
      expect(broken.status).toBe(1);
      expect(broken.stderr).toMatch(/bundling failed/);
      expect(await visit()).toBe(4);
    },
  );
});
