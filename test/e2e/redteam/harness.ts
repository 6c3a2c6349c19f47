/**
 * Runs generated SDKs the way their users do, and watches for harm. Load is bounded: one tsc and
 * one javac (plus at most one retry without the units that failed) for all cases, one short node
 * or python3 process per case, one JVM for every Java case.
 *
 * Harm, per case:
 * - exec: CANARY_EXEC printed while importing the SDK, constructing a client or calling methods;
 * - egress: any request at all reached the attacker's listener (`evil`);
 * - escape (plugin SDKs): a request reached the platform outside /p/{installationId}/ (after the
 *   dot-segment normalisation the platform's URL parser applies);
 * - inject (Java): a class the generator never writes (Pwn) was compiled into the SDK.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { CANARY, INSTALLATION, SECRET, type Lang } from "./attacks";

const ROOT = join(import.meta.dirname, "..", "..", "..");

export interface Hit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}
export interface Listener {
  url: string;
  host: string;
  hits: Hit[];
  close: () => Promise<void>;
}

/**
 * A loopback HTTP server answering 200 `{}` (and a token at /oauth/token), recording every
 * request; with `redirectTo`, it answers 307 to that origin instead (a token request excepted).
 */
export async function listener(options: { redirectTo?: string } = {}): Promise<Listener> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    hits.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.resume();
    if (options.redirectTo && !req.url?.endsWith("/oauth/token")) {
      res.writeHead(307, { location: `${options.redirectTo}${req.url ?? ""}` });
      return res.end();
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      req.url?.endsWith("/oauth/token")
        ? JSON.stringify({ access_token: "tok_redteam", expires_in: 300 })
        : "{}",
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface Case {
  key: string;
  lang: Lang;
  files: Record<string, string>;
  /** The baseUrl the SDK is configured with (default: base.url). */
  baseUrl?: string;
  /** The victim's API key and installation (default: fixed fakes against the stand-in). */
  apiKey?: string;
  installation?: string;
  /** The SDK must still import/compile (a syntax error is how most breakouts show first). */
  mustLoad?: boolean;
  /** Plugin SDKs: every request must stay under /p/{installationId}/. */
  plugin: boolean;
  base: Listener;
  evil: Listener;
}
export interface Outcome {
  /** The SDK imported (TS, Python) or compiled (Java). */
  loaded: boolean;
  /** tsc --strict accepted it (TypeScript only; node runs it either way). */
  typeChecked?: boolean;
  output: string;
  harms: string[];
  /** Requests the platform stand-in received (0 for a loaded SDK means no method was exercised). */
  requests?: number;
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function write(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}

const TS_DRIVER = `const sdk = await import(process.env.RT_ENTRY);
console.log("DRIVER_LOADED");
const base = process.env.RT_BASE;
// The transport: every URL the SDK asks for is printed before it is fetched.
const seen = (input, init) => {
  console.log("FETCH " + (init?.method ?? "GET") + " " + String(input instanceof Request ? input.url : input));
  return fetch(input, init);
};
const clients = [
  new sdk.Atoll({ baseUrl: base, apiKey: process.env.RT_KEY, maxRetries: 0, fetch: seen }),
  new sdk.Atoll({ baseUrl: base, clientId: "key_redteam", clientSecret: process.env.RT_KEY, maxRetries: 0, fetch: seen }),
];
for (const c of clients) {
  for (const name of Object.getOwnPropertyNames(sdk.Atoll.prototype)) {
    if (name === "constructor") continue;
    const fn = c[name];
    if (typeof fn !== "function") continue;
    try {
      const r = fn.apply(c, Array.from({ length: fn.length }, () => process.env.RT_INS));
      if (r && typeof r.next === "function") await r.next();
      else await r;
    } catch (err) {
      console.log("CALL_FAILED " + name + ": " + String(err).slice(0, 200));
    }
  }
}
`;

const PY_DRIVER = `import inspect, sys
import importlib, urllib.request
sys.path.insert(0, sys.argv[1])
# The transport: every URL the SDK opens is printed first (patched before the SDK is imported).
_open = urllib.request.OpenerDirector.open
def _seen_open(self, req, *a, **k):
    if isinstance(req, urllib.request.Request):
        print("FETCH " + req.get_method() + " " + req.full_url, flush=True)
    return _open(self, req, *a, **k)
urllib.request.OpenerDirector.open = _seen_open
atoll = importlib.import_module(sys.argv[3])
print("DRIVER_LOADED")
base = sys.argv[2]
key, ins = sys.argv[4], sys.argv[5]
for c in (atoll.Atoll(base, api_key=key, max_retries=0), atoll.Atoll(base, client_id="key_redteam", client_secret=key, max_retries=0)):
    for name, fn in list(vars(atoll.Atoll).items()):
        if name.startswith("_") or not callable(fn):
            continue
        try:
            params = list(inspect.signature(fn).parameters.values())[1:]
            args = [ins for p in params if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
            r = fn(c, *args)
            if inspect.isgenerator(r):
                next(r)
        except Exception as err:
            print("CALL_FAILED " + name + ": " + repr(err)[:200])
`;

const JAVA_DRIVER = `import java.lang.reflect.*;
import java.util.*;

public class RedteamDriver {
  /** A typed request body: the record's canonical constructor with strings and nulls. */
  static Object record(Class<?> type) {
    try {
      RecordComponent[] parts = type.getRecordComponents();
      Class<?>[] sig = new Class<?>[parts.length];
      Object[] vals = new Object[parts.length];
      for (int k = 0; k < parts.length; k++) {
        sig[k] = parts[k].getType();
        vals[k] = sig[k] == String.class ? "x" : sig[k] == int.class ? (Object) 0 : sig[k] == long.class ? (Object) 0L
          : sig[k] == boolean.class ? (Object) false : sig[k] == double.class ? (Object) 0.0 : null;
      }
      Constructor<?> ctor = type.getDeclaredConstructor(sig);
      ctor.setAccessible(true);
      return ctor.newInstance(vals);
    } catch (Throwable t) {
      return null;
    }
  }

  public static void main(String[] args) {
    for (int i = 0; i + 4 < args.length; i += 5) {
      String key = args[i], pkg = args[i + 1], base = args[i + 2], secret = args[i + 3], ins = args[i + 4];
      System.out.println("@@BEGIN " + key);
      try {
        Class<?> cls = Class.forName(pkg + ".Atoll");
        Object[] clients = {
          cls.getMethod("withApiKey", String.class, String.class).invoke(null, base, secret),
          cls.getMethod("withClientCredentials", String.class, String.class, String.class).invoke(null, base, "key_redteam", secret),
        };
        System.out.println("DRIVER_LOADED");
        for (Object c : clients) {
          cls.getMethod("maxRetries", int.class).invoke(c, 0);
          for (Method m : cls.getDeclaredMethods()) {
            if (!Modifier.isPublic(m.getModifiers()) || Modifier.isStatic(m.getModifiers())) continue;
            if (m.getName().equals("request") || m.getName().equals("maxRetries")) continue;
            // Configuration (timeout(Duration), maxRetryDelay(…)) returns the client: not an operation.
            if (m.getReturnType() == cls) continue;
            Class<?>[] types = m.getParameterTypes();
            Object[] values = new Object[types.length];
            for (int j = 0; j < types.length; j++)
              values[j] = types[j] == String.class ? ins
                : types[j] == Object.class || types[j] == Map.class ? new LinkedHashMap<String, Object>()
                : types[j] == int.class ? (Object) 0 : types[j] == long.class ? (Object) 0L
                : types[j] == boolean.class ? (Object) false : types[j] == double.class ? (Object) 0.0
                : types[j].isRecord() ? record(types[j]) : null;
            try {
              Object r = m.invoke(c, values);
              if (r instanceof Iterable<?> it) it.iterator().next();
            } catch (Throwable t) {
              Throwable cause = t instanceof InvocationTargetException e && e.getCause() != null ? e.getCause() : t;
              System.out.println("CALL_FAILED " + m.getName() + ": " + cause);
            }
          }
        }
      } catch (Throwable t) {
        System.out.println("LOAD_FAILED " + t);
      }
      System.out.println("@@END " + key);
    }
  }
}
`;

/** What tsc checks: the declarations of compiled output, or the TypeScript source. */
const tsTypes = (c: Case) => ("dist/index.d.ts" in c.files ? "dist/index.d.ts" : "src/index.ts");

/** The Python package's folder (atoll/ on main; named after the client elsewhere). */
const pyModule = (c: Case) =>
  Object.keys(c.files)
    .filter((p) => /^[A-Za-z_][A-Za-z0-9_]*\/__init__\.py$/.test(p) && !p.startsWith("_"))
    .map((p) => p.split("/")[0] ?? "")[0] ?? "atoll";

function judge(c: Case, output: string, extra: string[] = []): string[] {
  const harms = [...extra];
  // The payloads print the canary on a line of its own (a traceback quoting the source does not count).
  if (new RegExp(`^${CANARY}$`, "m").test(output)) harms.push("exec: the canary ran");
  const expected = new URL(c.baseUrl ?? c.base.url);
  for (const m of output.matchAll(/^FETCH (\S+) (.*)$/gm)) {
    let url: URL | null = null;
    try {
      url = new URL(m[2] ?? "");
    } catch {
      harms.push(`egress: the SDK asked for an unparsable URL ${m[2]}`);
    }
    if (url && (url.host !== expected.host || url.username || url.password))
      harms.push(
        `egress: the SDK asked for ${m[1]} ${m[2]}, not on ${expected.host}${url.username ? " (the real host as userinfo)" : ""}`,
      );
  }
  for (const h of c.evil.hits)
    harms.push(
      `egress: ${h.method} ${h.url} reached the attacker's host${JSON.stringify(h.headers).includes(c.apiKey ?? SECRET) ? " WITH THE API KEY" : ""}`,
    );
  if (c.plugin)
    for (const h of c.base.hits) {
      const path = new URL(h.url, "http://platform").pathname;
      if (path === "/oauth/token") continue;
      // The endpoint of the installation the plugin SDK was given: a fixed id, never a dot segment.
      if (
        !path.startsWith(`/p/${INSTALLATION}/`) ||
        (c.installation ?? INSTALLATION) !== INSTALLATION
      )
        harms.push(
          `escape: ${h.method} ${h.url} (= ${path}) left /p/${INSTALLATION}/${JSON.stringify(h.headers).includes(SECRET) ? " with the API key" : ""}`,
        );
    }
  return harms;
}

/** Generates nothing: materialises, compiles and runs every case; returns an outcome per key. */
export async function runCases(cases: Case[]): Promise<Map<string, Outcome>> {
  const outcomes = await runAll(cases);
  for (const c of cases) {
    const o = outcomes.get(c.key);
    if (!o) continue;
    o.requests = c.base.hits.length;
    if (c.mustLoad && !o.loaded)
      o.harms.push(
        `broken: the SDK no longer loads: ${o.output
          .split("\n")
          .filter((l) => /error|Error/.test(l))
          .slice(0, 2)
          .join(" | ")
          .slice(0, 300)}`,
      );
  }
  return outcomes;
}

async function runAll(cases: Case[]): Promise<Map<string, Outcome>> {
  const work = mkdtempSync(join(tmpdir(), "atoll-redteam-"));
  const outcomes = new Map<string, Outcome>();
  const dirOf = (c: Case) => join(work, c.lang, c.key.replace(/[^A-Za-z0-9_.-]/g, "_"));

  // ---- TypeScript: one tsc for every index.ts, then one node per case ----
  const ts = cases.filter((c) => c.lang === "typescript");
  for (const c of ts) {
    write(dirOf(c), c.files);
    writeFileSync(join(dirOf(c), "driver.mjs"), TS_DRIVER);
    // The SDK's entry: TypeScript source (src/index.ts) or compiled JavaScript (dist/index.js).
    if (!c.files["package.json"]?.includes('"type"'))
      writeFileSync(join(dirOf(c), "package.json"), JSON.stringify({ type: "module" }));
  }
  let tscOut = "";
  if (ts.length) {
    const r = await run(
      join(ROOT, "node_modules", ".bin", "tsc"),
      [
        "--noEmit",
        "--strict",
        "--target",
        "ES2022",
        "--module",
        "ESNext",
        "--moduleResolution",
        "Bundler",
        "--lib",
        "ES2022,DOM,DOM.Iterable",
        "--skipLibCheck",
        ...ts.map((c) => relative(work, join(dirOf(c), tsTypes(c)))),
      ],
      { cwd: work, timeoutMs: 120_000 },
    );
    tscOut = r.out;
  }
  for (const c of ts) {
    const r = await run(process.execPath, ["driver.mjs"], {
      cwd: dirOf(c),
      env: {
        PATH: process.env.PATH ?? "",
        RT_BASE: c.baseUrl ?? c.base.url,
        RT_KEY: c.apiKey ?? SECRET,
        RT_INS: c.installation ?? INSTALLATION,
        RT_ENTRY: `./${"dist/index.js" in c.files ? "dist/index.js" : "src/index.ts"}`,
      },
    });
    const file = relative(work, join(dirOf(c), tsTypes(c)));
    outcomes.set(c.key, {
      loaded: r.out.includes("DRIVER_LOADED"),
      typeChecked: !tscOut.includes(file),
      output: r.out,
      harms: judge(c, r.out),
    });
  }

  // ---- Python: one python3 per case (the import is the compile) ----
  for (const c of cases.filter((x) => x.lang === "python")) {
    write(dirOf(c), c.files);
    writeFileSync(join(dirOf(c), "driver.py"), PY_DRIVER);
    const r = await run(
      "python3",
      [
        "-E",
        "-s",
        "driver.py",
        dirOf(c),
        c.baseUrl ?? c.base.url,
        pyModule(c),
        c.apiKey ?? SECRET,
        c.installation ?? INSTALLATION,
      ],
      {
        cwd: dirOf(c),
      },
    );
    outcomes.set(c.key, {
      loaded: r.out.includes("DRIVER_LOADED"),
      output: r.out,
      harms: judge(c, r.out),
    });
  }

  // ---- Java: each case in its own package; one javac (one retry without failing units), one JVM ----
  const java = cases.filter((c) => c.lang === "java");
  if (java.length) {
    const pkgOf = (i: number) => `rt${i}.dev.atoll.client`;
    const javaPkg = (c: Case) =>
      /^package ([A-Za-z0-9_.]+);/m.exec(
        Object.entries(c.files).find(([p]) => p.endsWith("/Atoll.java"))?.[1] ?? "",
      )?.[1] ?? "dev.atoll.client";
    const sources = new Map<Case, string[]>();
    java.forEach((c, i) => {
      const renamed: Record<string, string> = {};
      for (const [path, text] of Object.entries(c.files))
        renamed[path] = text.replaceAll(javaPkg(c), pkgOf(i));
      // A plugin's document has no schemas, so its SDK has no models package, yet Atoll.java
      // imports dev.atoll.client.models.* (javac: "package … does not exist"). A placeholder
      // lets the rest compile, as a user fixing the build would.
      if (
        Object.values(c.files).some((t) => t.includes(".models.*;")) &&
        !Object.keys(c.files).some((p) => p.includes("/models/"))
      )
        renamed["src/main/java/dev/atoll/client/models/RedteamPlaceholder.java"] =
          `package ${pkgOf(i)}.models;\n\nfinal class RedteamPlaceholder {}\n`;
      write(dirOf(c), renamed);
      sources.set(
        c,
        Object.keys(renamed)
          .filter((p) => p.endsWith(".java"))
          .map((p) => join(dirOf(c), p)),
      );
    });
    const javaDir = join(work, "java");
    mkdirSync(javaDir, { recursive: true });
    writeFileSync(join(javaDir, "RedteamDriver.java"), JAVA_DRIVER);
    const javac = (units: Case[]) =>
      run(
        "javac",
        [
          "-d",
          "out",
          "--release",
          "17",
          "-encoding",
          "UTF-8",
          "-nowarn",
          "-Xmaxerrs",
          "100000",
          "-Xlint:none",
          "RedteamDriver.java",
          ...units.flatMap((c) => sources.get(c) ?? []),
        ],
        { cwd: javaDir, timeoutMs: 180_000 },
      );
    // A unit that fails to compile is dropped and the rest recompiled (at most three javac runs).
    const failed = new Set<Case>();
    let compile = await javac(java);
    let log = compile.out;
    for (let round = 0; compile.code !== 0 && round < 2; round++) {
      for (const c of java) if (compile.out.includes(dirOf(c) + "/")) failed.add(c);
      const ok = java.filter((c) => !failed.has(c));
      if (!ok.length) break;
      compile = await javac(ok);
      log += compile.out;
    }
    if (compile.code !== 0) for (const c of java) failed.add(c);
    const runnable = java.filter((c) => !failed.has(c));
    const jvm = runnable.length
      ? await run(
          "java",
          [
            "-cp",
            "out",
            "RedteamDriver",
            ...runnable.flatMap((c) => [
              c.key,
              pkgOf(java.indexOf(c)),
              c.baseUrl ?? c.base.url,
              c.apiKey ?? SECRET,
              c.installation ?? INSTALLATION,
            ]),
          ],
          { cwd: javaDir, timeoutMs: 120_000 },
        )
      : { code: 0, out: "" };
    java.forEach((c, i) => {
      if (failed.has(c)) {
        const mine = log
          .split("\n")
          .filter((l) => l.includes(dirOf(c)))
          .slice(0, 5)
          .join("\n");
        outcomes.set(c.key, {
          loaded: false,
          output: `javac failed\n${mine}`,
          harms: judge(c, ""),
        });
        return;
      }
      const start = jvm.out.indexOf(`@@BEGIN ${c.key}\n`);
      const end = jvm.out.indexOf(`@@END ${c.key}\n`, start);
      const out = start < 0 ? "" : jvm.out.slice(start, end < 0 ? undefined : end);
      const classes = join(javaDir, "out", ...pkgOf(i).split("."));
      const list = (d: string) => (existsSync(d) ? readdirSync(d) : []);
      const injected = [
        ...list(classes),
        ...list(join(classes, "models")).map((f) => `models/${f}`),
      ]
        .filter((f) => /(^|\/)Pwn/.test(f))
        .map((f) => `inject: ${f} was compiled into the SDK`);
      outcomes.set(c.key, {
        loaded: out.includes("DRIVER_LOADED"),
        output: out,
        harms: judge(c, out, injected),
      });
    });
  }
  return outcomes;
}
