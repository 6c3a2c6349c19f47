/**
 * Every shell example of the reference runs, in reading order, as a reader would run it: against a
 * platform of its own started with `npm start` (scripts/start.mjs, fresh state, free ports), from
 * a folder laid out like the repository (its .atoll/local-credentials.json is the one that start
 * wrote), each page in one bash session after the credentials block of docs/api.md. A curl that
 * fails fails the page unless it shows its status (test/e2e/doc-shell.ts).
 *
 * Blocks that cannot run here say so on the line before them, naming the test that runs them
 * instead; that is checked too, so no example is silently left out.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docScript, shellBlocks } from "./doc-shell";

const root = join(import.meta.dirname, "..", "..");

/**
 * The pages whose examples run, in order (state carries over: marketplace.md uses the plugin
 * plugins.md published). docs/api.md runs last: its rate-limit examples spend 127.0.0.1's
 * anonymous minute, which the marketplace's public browsing would otherwise meet.
 */
const PAGES = [
  "docs/plugins.md",
  "docs/marketplace.md",
  "docs/revenue.md",
  "docs/integrations.md",
  "docs/events.md",
  "docs/api.md",
];

const markdownFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory()
      ? markdownFiles(join(dir, d.name))
      : d.name.endsWith(".md")
        ? [join(dir, d.name)]
        : [],
  );

describe("every shell example is run by a test", () => {
  it("each block is on a page run here, the tutorials' test, or names the test that runs it", () => {
    const files = [join(root, "README.md"), ...markdownFiles(join(root, "docs"))];
    const unaccounted: string[] = [];
    for (const file of files) {
      const name = relative(root, file);
      const tutorial = name.startsWith("docs/tutorials/"); // test/e2e/tutorials.test.ts
      for (const block of shellBlocks(readFileSync(file, "utf8"))) {
        if (block.notRunHere !== null) {
          const named = /test\/[\w/.-]+\.test\.ts/.exec(block.notRunHere)?.[0];
          if (!named || !existsSync(join(root, named)))
            unaccounted.push(`${name}:${block.line} (names no existing test: ${block.notRunHere})`);
        } else if (!tutorial && !PAGES.includes(name)) {
          unaccounted.push(`${name}:${block.line}`);
        }
      }
    }
    expect(unaccounted).toEqual([]);
  });
});

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const next = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(port + 1, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (next && port < 65_000) return port;
  }
}

describe("the reference's examples, run in order against npm start", () => {
  const state = mkdtempSync(join(tmpdir(), "atoll-docs-state-"));
  const work = mkdtempSync(join(tmpdir(), "atoll-docs-work-"));
  let supervisor: ChildProcess | undefined;
  let output = "";

  beforeAll(async () => {
    const port = await freePort();
    supervisor = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
      cwd: root,
      env: { ...process.env, PORT: String(port), ATOLL_STATE_DIR: state, ATOLL_CRONS: "off" },
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
      supervisor?.once("exit", (code) => {
        clearInterval(timer);
        reject(new Error(`npm start exited with ${code}:\n${output}`));
      });
    });
    // A folder laid out like the repository: what the examples read and run.
    mkdirSync(join(work, ".atoll"));
    symlinkSync(
      join(state, "local-credentials.json"),
      join(work, ".atoll", "local-credentials.json"),
    );
    for (const entry of [
      "node_modules",
      "packages",
      "plugins",
      "scripts",
      "package.json",
      "wrangler.toml",
    ])
      symlinkSync(join(root, entry), join(work, entry));
  }, 180_000);

  afterAll(async () => {
    if (supervisor && supervisor.exitCode === null) {
      supervisor.kill("SIGINT");
      await new Promise((r) => supervisor?.once("exit", r));
    }
    rmSync(work, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }, 60_000);

  const setup = shellBlocks(readFileSync(join(root, "docs", "api.md"), "utf8"))[0]?.body ?? "";

  it.each(PAGES)(
    "%s",
    (page) => {
      const script = docScript(readFileSync(join(root, page), "utf8"), page);
      // docs/api.md begins with the credentials block itself; every other page runs after it.
      const full = page === "docs/api.md" ? script : script.replace("\necho", `\n${setup}\necho`);
      const run = spawnSync("bash", ["-c", full], {
        cwd: work,
        encoding: "utf8",
        timeout: 240_000,
        env: { ...process.env, PATH: process.env.PATH ?? "" },
      });
      const where = run.stderr.match(/::: [^\n]+/g)?.at(-1) ?? "(before the first block)";
      expect(
        run.status,
        `${page} failed in the block after ${where}:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`,
      ).toBe(0);
      expect(run.stderr).toContain("::: done");
    },
    250_000,
  );
});
