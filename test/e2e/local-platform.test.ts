/**
 * The local platform's processes: they die with whatever started them (kill -9 included), and a
 * start whose port is taken says which process holds it instead of printing a banner over an
 * orphan.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const state = mkdtempSync(join(tmpdir(), "atoll-lp-"));
afterAll(() => rmSync(state, { recursive: true, force: true }));

const answers = async (url: string) => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).status === 200;
  } catch {
    return false;
  }
};

describe("the local platform's processes", () => {
  it("stop when the process that started them is killed with SIGKILL", async () => {
    const script = `import { startPlatformOnFreePorts } from ${JSON.stringify(join(root, "scripts", "local-platform.mjs"))};
      const p = await startPlatformOnFreePorts({ persistTo: ${JSON.stringify(state)}, logLevel: "warn" });
      console.log("UP " + p.url + " " + p.hostUrl); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const urls = await new Promise<string[]>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /UP (\S+) (\S+)/.exec(out);
        if (m?.[1] && m[2]) resolve([m[1], m[2]]);
      });
      child.once("exit", (code) => reject(new Error(`the platform exited with ${code}`)));
    });
    const [gateway = "", host = ""] = urls;
    expect(await answers(`${gateway}/healthz`)).toBe(true);
    expect(await answers(`${host}/__host/health`)).toBe(true);
    child.kill("SIGKILL");
    const deadline = Date.now() + 20_000;
    while (
      Date.now() < deadline &&
      ((await answers(`${gateway}/healthz`)) || (await answers(`${host}/__host/health`)))
    )
      await new Promise((r) => setTimeout(r, 250));
    expect(await answers(`${gateway}/healthz`)).toBe(false);
    expect(await answers(`${host}/__host/health`)).toBe(false);
  }, 120_000);

  it("refuses to start on a taken port, naming the process that holds it", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = spawnSync(process.execPath, [join(root, "scripts", "start.mjs")], {
        cwd: root,
        env: { ...process.env, PORT: String(port) },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`port ${port} is held by pid ${process.pid}`);
      expect(r.stdout).not.toContain("Atoll is running");
    } finally {
      blocker.close();
    }
  }, 90_000);
});
