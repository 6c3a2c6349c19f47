/**
 * Helpers of the SDK tests: unzip a downloaded SDK, run a tool without blocking the event loop
 * (the retry stand-in server lives in the test process), find Node 20, Maven and a JDK.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { unzipSync } from "fflate";

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command asynchronously (a spawnSync would block the in-process stand-in server). */
export function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Writes a zip's entries under a fresh temporary folder. */
export function unzipTo(bytes: Uint8Array, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [path, data] of Object.entries(unzipSync(bytes))) {
    if (path.endsWith("/")) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
  return dir;
}

export const has = (cmd: string, arg = "--version") =>
  spawnSync(cmd, [arg], { encoding: "utf8" }).status === 0;

/** A Node 20 binary (the machine's), or this process's Node when there is none. */
export function node20(): string {
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node"]) {
    const v = spawnSync(candidate, ["--version"], { encoding: "utf8" });
    if (v.status === 0 && v.stdout.startsWith("v20.")) return candidate;
  }
  console.warn(`no Node 20 binary found: the TypeScript SDK runs on ${process.version}`);
  return process.execPath;
}

/** Whether `mvn -o` can build here (Maven present and the pinned plugins in the local repository). */
let mavenOk: boolean | null = null;
export async function mavenOffline(probeDir: string): Promise<boolean> {
  if (mavenOk !== null) return mavenOk;
  if (!has("mvn", "-v")) {
    console.warn("mvn is not installed here: the Java SDK is built with javac instead");
    return (mavenOk = false);
  }
  const r = await run("mvn", ["-o", "-q", "-B", "package"], { cwd: probeDir, timeoutMs: 90_000 });
  if (r.status !== 0)
    console.warn(
      `mvn -o package failed here (plugins not in ~/.m2?): the Java SDK is built with javac instead\n${r.stdout.slice(-2000)}`,
    );
  return (mavenOk = r.status === 0);
}

/** The strict TypeScript settings a generated SDK must type-check under (Node ESM resolution). */
export const STRICT_NODE_TSC = [
  "--strict",
  "--target",
  "ES2022",
  "--module",
  "NodeNext",
  "--moduleResolution",
  "NodeNext",
];
