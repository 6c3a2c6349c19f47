/**
 * The typed per-plugin SDKs of the example plugins, downloaded from the running platform: each
 * compiles (tsc --strict, python -m py_compile, javac --release 17), a wrong body type is a
 * compile error in TypeScript, and one typed call per language reaches the installed demo
 * plugin: POST /stats with a typed body, answered as a typed model (and a schema refusal comes
 * back as a BadRequestError naming the field).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { has, node20, run, unzipTo, STRICT_NODE_TSC } from "./sdk-tools";

const base = inject("baseUrl");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
  apiKey: string;
  plugins: Record<string, string>;
};
const root = join(import.meta.dirname, "..", "..");
const PLUGINS = ["hello", "advanced-analytics", "payment-gateway", "slack-responder"] as const;
const installation = (name: string) =>
  /\/p\/(ins_[A-Za-z0-9]+)/.exec(creds.plugins[name] ?? "")?.[1] ?? "";

async function sdk(language: string, plugin: string): Promise<string> {
  const res = await fetch(`${base}/v1/portal/sdks/${language}?plugin=@demo/${plugin}`);
  expect(res.status).toBe(200);
  const dir = unzipTo(new Uint8Array(await res.arrayBuffer()), `atoll-typed-${language}-`);
  return join(dir, `demo-${plugin}-client-${language}`);
}

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  ATOLL_URL: base,
  ATOLL_API_KEY: creds.apiKey,
  STATS: installation("advanced-analytics"),
  HELLO: installation("hello"),
  ...extra,
});

describe("the example plugins' typed SDKs", () => {
  it("are installed where the tests expect them", () => {
    for (const p of PLUGINS) expect(installation(p), p).toMatch(/^ins_/);
  });

  it("TypeScript: strict tsc, a wrong body is a type error, one typed call", async () => {
    const tsc = join(root, "node_modules", ".bin", "tsc");
    for (const p of PLUGINS) {
      const dir = await sdk("typescript", p);
      const r = await run(
        tsc,
        ["--noEmit", ...STRICT_NODE_TSC, "--lib", "ES2022,DOM", "dist/index.d.ts"],
        {
          cwd: dir,
        },
      );
      expect(r.stdout + r.stderr, p).toBe("");
    }
    const dir = await sdk("typescript", "advanced-analytics");
    const dts = readFileSync(join(dir, "dist", "index.d.ts"), "utf8");
    expect(dts).toMatch(/postStats\(installationId: string \| number, body: PostStatsBody/);
    expect(dts).toMatch(/Promise<PostStatsResponse>/);
    writeFileSync(
      join(dir, "check.ts"),
      `import { Atoll, BadRequestError, type PostStatsBody, type PostStatsResponse } from "./dist/index.js";
declare const process: { env: Record<string, string | undefined> };
const e = process.env;
const atoll = new Atoll({ baseUrl: e.ATOLL_URL, apiKey: e.ATOLL_API_KEY });
const body: PostStatsBody = { values: [1, 2, 3, 10] };
const stats: PostStatsResponse = await atoll.postStats(e.STATS ?? "", body);
const mean: number = stats.mean;
let refused: string[] = [];
try {
  await atoll.postStats(e.STATS ?? "", { values: ["x"] } as unknown as PostStatsBody);
} catch (x) {
  if (x instanceof BadRequestError) refused = ((x.problem as { errors?: { path: string }[] }).errors ?? []).map((f) => f.path);
}
console.log(JSON.stringify({ mean, count: stats.count, refused }));
`,
    );
    writeFileSync(
      join(dir, "wrong.ts"),
      `import { Atoll } from "./dist/index.js";
await new Atoll().postStats("ins_x", { values: "not numbers" });
`,
    );
    const flags = [...STRICT_NODE_TSC, "--lib", "ES2022,DOM"];
    const wrong = await run(tsc, ["--noEmit", ...flags, "wrong.ts"], { cwd: dir });
    expect(wrong.stdout).toMatch(/wrong\.ts\(2,\d+\): error TS2322: .*string.*number\[\]/s);
    const built = await run(tsc, [...flags, "check.ts"], { cwd: dir });
    expect(built.stdout + built.stderr).toBe("");
    const ran = await run(node20(), ["check.js"], { cwd: dir, env: env() });
    expect(ran.stderr).toBe("");
    expect(JSON.parse(ran.stdout)).toEqual({ mean: 4, count: 4, refused: ["body.values.0"] });
  }, 120_000);

  it.skipIf(!has("python3"))(
    "Python: compiles, and one typed call",
    async () => {
      for (const p of PLUGINS) {
        const dir = await sdk("python", p);
        const module = `demo_${p.replace(/-/g, "_")}_client`;
        const r = await run("python3", ["-m", "py_compile", `${module}/__init__.py`], { cwd: dir });
        expect(r.stdout + r.stderr, p).toBe("");
      }
      const dir = await sdk("python", "advanced-analytics");
      const init = readFileSync(join(dir, "demo_advanced_analytics_client", "__init__.py"), "utf8");
      expect(init).toMatch(
        /def post_stats\(self, installation_id: str, body: PostStatsBody.*-> PostStatsResponse:/,
      );
      writeFileSync(
        join(dir, "check.py"),
        `import json, os
from demo_advanced_analytics_client import Atoll, BadRequestError, PostStatsBody, PostStatsResponse
atoll = Atoll(base_url=os.environ["ATOLL_URL"], api_key=os.environ["ATOLL_API_KEY"])
body: PostStatsBody = {"values": [1, 2, 3, 10]}
stats: PostStatsResponse = atoll.post_stats(os.environ["STATS"], body)
refused = []
try:
    atoll.post_stats(os.environ["STATS"], {"values": ["x"]})
except BadRequestError as x:
    refused = [f["path"] for f in x.problem.get("errors", [])]
print(json.dumps({"mean": stats["mean"], "count": stats["count"], "refused": refused}))
`,
      );
      const ran = await run("python3", ["-E", "-s", "check.py"], { cwd: dir, env: env() });
      expect(ran.stderr).toBe("");
      expect(JSON.parse(ran.stdout)).toEqual({ mean: 4, count: 4, refused: ["body.values.0"] });
    },
    120_000,
  );

  it.skipIf(!has("javac", "-version"))(
    "Java: javac --release 17, and one typed call",
    async () => {
      const compile = async (dir: string, extra: string[] = []) => {
        const files = (await run("find", ["src", "-name", "*.java"], { cwd: dir })).stdout
          .trim()
          .split("\n");
        return run("javac", ["-d", "out", "--release", "17", "-Xlint:none", ...files, ...extra], {
          cwd: dir,
        });
      };
      for (const p of PLUGINS) {
        const dir = await sdk("java", p);
        const r = await compile(dir);
        expect(r.stdout + r.stderr, p).toBe("");
      }
      const dir = await sdk("java", "advanced-analytics");
      expect((await compile(dir)).stderr).toBe("");
      writeFileSync(
        join(dir, "Check.java"),
        `import dev.atoll.client.*;
import dev.atoll.client.models.*;
import java.util.*;

public class Check {
  public static void main(String[] args) {
    Map<String, String> e = System.getenv();
    Atoll atoll = Atoll.withApiKey(e.get("ATOLL_URL"), e.get("ATOLL_API_KEY"));
    PostStatsResponse stats = atoll.postStats(e.get("STATS"), new PostStatsBody(List.of(1.0, 2.0, 3.0, 10.0), null));
    double mean = stats.mean();
    long count = stats.count();
    System.out.println("{\\"mean\\":" + (long) mean + ",\\"count\\":" + count + "}");
  }
}
`,
      );
      const built = await run("javac", ["-cp", "out", "-d", "out", "Check.java"], { cwd: dir });
      expect(built.stderr).toBe("");
      const ran = await run("java", ["-cp", "out", "Check"], { cwd: dir, env: env() });
      expect(ran.stderr).toBe("");
      expect(JSON.parse(ran.stdout)).toEqual({ mean: 4, count: 4 });
    },
    180_000,
  );
});
