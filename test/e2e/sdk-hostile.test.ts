/**
 * Code injection through the SDK generators: a document whose every string (title, summaries,
 * descriptions, paths, parameter, property and schema names, enum values, tags, the token URL)
 * carries breakouts for comments, string literals, docstrings, `\u` escapes and identifiers.
 * Each generated SDK must compile (strict tsc, py_compile, javac), load (import / class
 * initialisation) and run nothing: no PWNED marker on stdout or stderr, no canary file.
 * The generators are pure, so this needs no platform.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { javaSdk } from "../../src/portal/codegen/java";
import { pythonSdk } from "../../src/portal/codegen/python";
import { withOperationIds } from "../../src/portal/codegen/spec";
import { typescriptSdk } from "../../src/portal/codegen/typescript";
import { hostileDocument } from "./sdk-hostile-document";
import { STRICT_NODE_TSC } from "./sdk-tools";

const root = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "atoll-sdk-hostile-"));
const canary = join(work, "CANARY");
const pkg = { name: "hostile-client", baseUrl: 'http://127.0.0.1:9/"; evil(); "' };

function generate(language: string, gen: typeof typescriptSdk): string {
  const dir = join(work, language);
  const files = gen(withOperationIds(hostileDocument(canary)), pkg);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function clean(run: { stdout: string; stderr: string; status: number | null }) {
  // Identifiers made from the payloads may spell PWNED; only executed code prints "PWNED-".
  expect(run.stdout + run.stderr).not.toMatch(/PWNED-/);
  expect(existsSync(canary)).toBe(false);
}

const has = (cmd: string, arg = "--version") => {
  const ok = spawnSync(cmd, [arg], { encoding: "utf8" }).status === 0;
  if (!ok) console.warn(`${cmd} is not installed here: its hostile-SDK test is skipped`);
  return ok;
};

afterAll(() => expect(existsSync(canary)).toBe(false));

describe("SDKs generated from a hostile document", () => {
  it("TypeScript: the .d.ts passes strict tsc; the module imports and runs nothing", () => {
    const dir = generate("typescript", typescriptSdk);
    const js = readFileSync(join(dir, "dist", "index.js"), "utf8");
    // Nothing document-controlled stands in code position (only in comments and literals).
    expect(js).not.toMatch(/^\s*(import os|process\.stdout|static \{)/m);
    writeFileSync(
      join(dir, "check.ts"),
      `import { Atoll } from "./dist/index.js";
const atoll = new Atoll({ baseUrl: "http://127.0.0.1:9" });
const names: string[] = Object.getOwnPropertyNames(Atoll.prototype);
console.log(JSON.stringify({ names, hasRequest: typeof atoll.request }));
`,
    );
    const tsc = spawnSync(
      join(root, "node_modules", ".bin", "tsc"),
      [
        "--noEmit",
        ...STRICT_NODE_TSC,
        "--lib",
        "ES2022,DOM",
        "--types",
        "node",
        "--typeRoots",
        join(root, "node_modules", "@types"),
        "check.ts",
        "dist/index.d.ts",
      ],
      { cwd: dir, encoding: "utf8" },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    const run = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import("./dist/index.js"); const a = new m.Atoll(); console.log(JSON.stringify(Object.getOwnPropertyNames(m.Atoll.prototype)));`,
      ],
      { cwd: dir, encoding: "utf8" },
    );
    clean(run);
    expect(run.status).toBe(0);
    const methods = JSON.parse(run.stdout) as string[];
    // "request" and "request " collide with the runtime's request(): renamed, not overridden.
    expect(methods).toContain("request_2");
    expect(methods).toContain("request_3");
    // The upload operation's path has hostile text in a literal part (newlines, backslashes):
    // such a path could be re-read by a URL parser, so it is not generated at all.
    expect(methods.some((m) => m.startsWith("constructor_"))).toBe(false);
    expect(methods).toContain("fetcher_2"); // the client's own field keeps its name
    for (const m of methods) expect(m).toMatch(/^[A-Za-z_$][A-Za-z0-9_$]*$/);
    // Property names survive as quoted keys.
    const dts = readFileSync(join(dir, "dist", "index.d.ts"), "utf8");
    expect(dts).toContain('"a-b": string;');
    expect(dts).toContain('"__proto__"?: string;');
  });

  it.skipIf(!has("python3"))(
    "Python: py_compile passes; importing and constructing runs nothing; keys survive",
    () => {
      const dir = generate("python", pythonSdk);
      const compile = spawnSync(
        "python3",
        ["-m", "py_compile", "hostile_client/__init__.py", "_build/atoll_build.py"],
        { cwd: dir, encoding: "utf8" },
      );
      expect(compile.stdout + compile.stderr).toBe("");
      expect(compile.status).toBe(0);
      const run = spawnSync(
        "python3",
        [
          "-E",
          "-s",
          "-c",
          `import json, hostile_client as m
a = m.Atoll()
models = [v for k, v in vars(m).items() if isinstance(v, type) and issubclass(v, dict) and "a-b" in getattr(v, "__annotations__", {})]
expected = ["a-b", "class", "__proto__", "constructor", "toString", "self", ""]
print(json.dumps({"methods": sorted(k for k in vars(m.Atoll) if not k.startswith("__")), "keys": [k for k in expected if models and k in models[0].__annotations__]}))`,
        ],
        {
          cwd: dir,
          encoding: "utf8",
          env: { PATH: process.env.PATH ?? "", PYTHONDONTWRITEBYTECODE: "1" },
        },
      );
      clean(run);
      expect(run.stderr).toBe("");
      const out = JSON.parse(run.stdout) as { methods: string[]; keys: string[] };
      expect(out.keys).toEqual([
        "a-b",
        "class",
        "__proto__",
        "constructor",
        "toString",
        "self",
        "",
      ]);
      expect(out.methods).toEqual(expect.arrayContaining(["request_2", "request_3"]));
      for (const m of out.methods) expect(m).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      // A required body field is enforced before anything is sent.
      const missing = spawnSync(
        "python3",
        [
          "-E",
          "-s",
          "-c",
          `import hostile_client as m
op = [k for k in vars(m.Atoll) if k.startswith("x_")][0]
try:
    getattr(m.Atoll("http://127.0.0.1:9"), op)("1", {"class": "c"})
except m.BadRequestError as e:
    print("refused:", "a-b" in str(e), "class" in str(e))`,
        ],
        { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } },
      );
      clean(missing);
      expect(missing.stdout).toBe("refused: True False\n");
    },
  );

  it.skipIf(!has("javac", "-version"))(
    "Java: javac compiles it; loading and initialising every class runs nothing",
    () => {
      const dir = generate("java", javaSdk);
      const sources = execFileSync("find", ["src", "-name", "*.java"], {
        cwd: dir,
        encoding: "utf8",
      })
        .trim()
        .split("\n");
      writeFileSync(
        join(dir, "Load.java"),
        `import java.nio.file.*;
import java.util.*;

public class Load {
  public static void main(String[] args) throws Exception {
    List<String> names = new ArrayList<>();
    try (var files = Files.walk(Path.of("out"))) {
      files.filter(p -> p.toString().endsWith(".class") && !p.getFileName().toString().equals("Load.class"))
        .forEach(p -> names.add(Path.of("out").relativize(p).toString().replace('/', '.').replaceAll("\\\\.class$", "")));
    }
    for (String n : names) Class.forName(n, true, Load.class.getClassLoader());
    Object atoll = Class.forName("dev.atoll.client.Atoll").getMethod("anonymous", String.class).invoke(null, "http://127.0.0.1:9");
    for (String n : names) {
      Class<?> c = Class.forName(n);
      if (c.isRecord()) c.getMethod("fromJson", Object.class).invoke(null, Map.of("a-b", "v"));
    }
    // A record whose components are named like the generated code's locals still round-trips.
    Class<?> locals = Class.forName("dev.atoll.client.models.Locals");
    Object l = locals.getMethod("fromJson", Object.class).invoke(null, Map.of("m", "v", "json", "w", "x0", List.of(List.of("a"))));
    Object back = locals.getMethod("toJson").invoke(l);
    System.out.println("locals " + back);
    System.out.println("loaded " + names.size() + " " + (atoll != null));
  }
}
`,
      );
      const javac = spawnSync(
        "javac",
        ["-d", "out", "--release", "17", "-Xlint:none", ...sources],
        {
          cwd: dir,
          encoding: "utf8",
        },
      );
      expect(javac.stderr).toBe("");
      const load = spawnSync("javac", ["-cp", "out", "-d", "out", "Load.java"], {
        cwd: dir,
        encoding: "utf8",
      });
      expect(load.stderr).toBe("");
      const run = spawnSync("java", ["-cp", "out", "Load"], { cwd: dir, encoding: "utf8" });
      clean(run);
      expect(run.stderr).toBe("");
      expect(run.stdout).toMatch(/^locals \{m=v, json=w, x0=\[\[a\]\]\}\nloaded \d+ true/);
    },
    60_000,
  );
});
