// Route matching and validation measured directly: the gateway's admission function
// (src/contract/route-input.ts, bundled here with esbuild) timed in this process on the hello
// plugin's declared routes and on no routes, for the path the throughput pair calls. On a
// 2-core machine two throughput scenarios differ by more than the 3% this is about (an A/A
// run with identical manifests differed by 22%), so the per-call time is the figure to trust.
import { build } from "esbuild";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export async function benchAdmit(root, path = "/hello/bench", n = 200_000) {
  const dir = mkdtempSync(join(tmpdir(), "atoll-admit-"));
  try {
    const out = join(dir, "route-input.mjs");
    await build({
      entryPoints: [join(root, "src", "contract", "route-input.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: out,
      logLevel: "error",
    });
    const { admit } = await import(pathToFileURL(out).href);
    const manifest = JSON.parse(
      readFileSync(join(root, "plugins", "hello", "manifest.json"), "utf8"),
    );
    const routes = manifest.routes.map((r) => ({ method: "ANY", ...r }));
    const query = new URLSearchParams("");
    const input = { method: "GET", path, query, contentType: null, readBody: async () => "" };
    const time = async (rs) => {
      for (let i = 0; i < 5_000; i++) await admit(rs, input);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await admit(rs, input);
      return ((performance.now() - t0) * 1000) / n;
    };
    const first = await time(routes);
    if (!(await admit(routes, input)).ok) throw new Error(`admit refused ${path}`);
    const open = await time(undefined);
    const declared = Math.min(first, await time(routes));
    return { declaredUs: +declared.toFixed(2), openUs: +open.toFixed(2) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
