/**
 * The generated SDKs, downloaded from the running platform, installed with their own ecosystem's
 * tool and used: TypeScript (npm install of the folder, strict tsc against its .d.ts, run on
 * Node 20 as compiled JavaScript), Python (pip install into a fresh venv with --no-index, the
 * in-tree build backend), Java (mvn -o package; javac when Maven cannot build offline here).
 * Each signs up without a key, uploads a package, downloads an SDK and a template zip as bytes,
 * raises typed errors, and retries against a local stand-in: 503 + Retry-After (seconds), 429 +
 * Retry-After (HTTP date), the same Idempotency-Key across retries, a POST without a key never
 * retried, a non-JSON error body kept as text. And a plugin whose manifest carries breakouts gets
 * SDKs that compile and execute nothing.
 */
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { has, node20, run, unzipTo, STRICT_NODE_TSC } from "./sdk-tools";

const base = inject("baseUrl");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
  apiKey: string;
  apiKeyId: string;
};
const root = join(import.meta.dirname, "..", "..");
const TEMPLATE = ["@acme-tools", "storefront-starter"] as const;

async function download(language: string, query = ""): Promise<string> {
  const res = await fetch(`${base}/v1/portal/sdks/${language}${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/zip");
  return unzipTo(new Uint8Array(await res.arrayBuffer()), `atoll-sdk-${language}-`);
}

/** A plugin package for the organization `slug`, written to a file the SDK programs read. */
function packageFile(slug: string): string {
  const manifest = {
    name: `@${slug}/sdk-upload`,
    version: "1.0.0",
    description: "uploaded by a generated SDK",
    author: "e2e",
    kind: "plugin",
    entry: "index.js",
    apiVersion: "1",
  };
  const file = join(mkdtempSync(join(tmpdir(), "atoll-sdk-pkg-")), "package.zip");
  writeFileSync(
    file,
    zipSync({
      "manifest.json": strToU8(JSON.stringify(manifest)),
      "index.js": strToU8("export default { fetch() { return new Response('ok'); } };"),
    }),
  );
  return file;
}

const slugFor = (lang: string) => `sdk-${lang}-${Math.random().toString(36).slice(2, 8)}`;

// ---- The stand-in: scripted failures, and what each request carried ----
interface Seen {
  key: string;
  idempotencyKey: string | undefined;
}
let seen: Seen[] = [];
let standIn: Server;
let standInUrl = "";
const count = (key: string) => seen.filter((s) => s.key === key).length;

beforeAll(async () => {
  standIn = createServer((req, res) => {
    const key = `${req.method} ${(req.url ?? "").split("?")[0]}`;
    const idem = req.headers["idempotency-key"];
    seen.push({ key, idempotencyKey: typeof idem === "string" ? idem : undefined });
    const n = count(key);
    req.resume();
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    const problem = (status: number, headers: Record<string, string> = {}) =>
      json(status, { type: "about:blank", title: "scripted", status }, headers);
    if (key === "GET /v1/me")
      return n === 1
        ? problem(503, { "retry-after": "1" })
        : json(200, { subject: "standin", user: null, organization: null });
    if (key === "GET /v1/marketplace/listings")
      return n === 1
        ? problem(429, { "retry-after": new Date(Date.now() + 1500).toUTCString() })
        : json(200, { listings: [], nextCursor: null });
    if (key === "POST /v1/purchases")
      return n === 1 ? problem(503) : json(201, { id: "pur_standin" });
    if (key === "POST /v1/signup") return problem(503);
    if (key === "GET /v1/marketplace/listings/@x/later")
      return problem(429, { "retry-after": "3600" });
    if (key === "GET /v1/marketplace/listings/@x/dropped") {
      if (n === 1) return req.socket.destroy(); // a network error: no answer at all
      return json(200, { name: "@x/dropped" });
    }
    if (key === "GET /v1/portal/tutorials") {
      setTimeout(() => json(200, { tutorials: [] }), 2000).unref();
      return;
    }
    if (key === "GET /v1/marketplace/categories") {
      res.writeHead(500, { "content-type": "text/html" });
      return res.end("<html>oops, not JSON</html>");
    }
    problem(404);
  });
  await new Promise<void>((r) => standIn.listen(0, "127.0.0.1", r));
  const address = standIn.address();
  standInUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(() => new Promise<void>((r) => standIn.close(() => r())));
beforeEach(() => {
  seen = [];
});

interface Report {
  org: string;
  published: string;
  zips: boolean[];
  notFound: string;
  retry503Ms: number;
  retry429Ms: number;
  purchase: string;
  postNotRetried: boolean;
  htmlKept: boolean;
  missingRefused: boolean;
  timedOut: boolean;
  connectionFailed: boolean;
  dropped: string;
  longWaitThrown: boolean;
}

/** What every SDK must have done, on the platform and against the stand-in. */
function expectReport(r: Report, slug: string) {
  expect(r).toMatchObject({
    org: slug,
    published: `@${slug}/sdk-upload`,
    zips: [true, true],
    notFound: "404 not-found",
    purchase: "pur_standin",
    postNotRetried: true,
    htmlKept: true,
    missingRefused: true,
    timedOut: true,
    connectionFailed: true,
    dropped: "@x/dropped",
    longWaitThrown: true,
  });
  expect(count("GET /v1/marketplace/listings/@x/later")).toBe(1); // Retry-After 3600: not slept
  expect(count("GET /v1/marketplace/listings/@x/dropped")).toBe(2);
  expect(r.retry503Ms).toBeGreaterThanOrEqual(900); // Retry-After: 1
  expect(r.retry429Ms).toBeGreaterThanOrEqual(300); // Retry-After: an HTTP date ~1.5 s ahead
  expect(count("GET /v1/me")).toBe(2);
  expect(count("GET /v1/marketplace/listings")).toBe(2);
  const purchases = seen.filter((s) => s.key === "POST /v1/purchases");
  expect(purchases).toHaveLength(2);
  expect(purchases[0]?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
  expect(purchases[1]?.idempotencyKey).toBe(purchases[0]?.idempotencyKey);
  expect(count("POST /v1/signup")).toBe(1); // a POST without a key: not retried; a refused body: not sent
  expect(count("GET /v1/marketplace/categories")).toBe(1); // maxRetries 0
}

const env = (extra: Record<string, string>) => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  ATOLL_URL: base,
  STANDIN_URL: standInUrl,
  ...extra,
});

describe("the TypeScript SDK", () => {
  it("installs with npm, type-checks strictly, runs on Node 20 and does what it says", async () => {
    const sdk = join(await download("typescript"), "atoll-client-typescript");
    const pkg = JSON.parse(readFileSync(join(sdk, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(pkg).toMatchObject({ type: "module", types: "./dist/index.d.ts" });
    expect(existsSync(join(sdk, "dist", "index.js"))).toBe(true);
    const project = mkdtempSync(join(tmpdir(), "atoll-sdk-ts-project-"));
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    const npm = await run(
      "npm",
      ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", sdk],
      { cwd: project },
    );
    expect(npm.status, npm.stderr).toBe(0);
    writeFileSync(
      join(project, "check.ts"),
      `import { readFileSync } from "node:fs";
import { Atoll, AtollConnectionError, AtollTimeoutError, AuthError, BadRequestError, NotFoundError, RateLimitError, ServerError } from "atoll-client";
const e = process.env;
const anon = new Atoll({ baseUrl: e.ATOLL_URL });
const creds = await anon.postSignup({ email: e.SLUG + "@example.test", name: "SDK", organization: { name: "SDK", slug: e.SLUG! } });
const atoll = new Atoll({ baseUrl: e.ATOLL_URL, apiKey: creds.apiKey });
const me = await atoll.getMe();
const published = await atoll.postPackages(new Uint8Array(readFileSync(e.PACKAGE_ZIP!)));
const sdk: Uint8Array = await anon.getPortalSdksByLanguage("python");
const tpl: Uint8Array = await atoll.getMarketplaceListingsByScopeByNamePackage("${TEMPLATE[0]}", "${TEMPLATE[1]}");
const isZip = (b: Uint8Array) => b[0] === 0x50 && b[1] === 0x4b;
let notFound = "";
try { await atoll.getInstallationsByInstallationId("ins_doesNotExist0000"); } catch (err) { if (err instanceof NotFoundError) notFound = err.status + " " + err.type; }
try { await anon.getMe(); } catch (err) { if (!(err instanceof AuthError)) throw err; }
const s = new Atoll({ baseUrl: e.STANDIN_URL, apiKey: "atk_standin", maxRetries: 3 });
let t = Date.now(); await s.getMe(); const retry503Ms = Date.now() - t;
t = Date.now(); await s.getMarketplaceListings(); const retry429Ms = Date.now() - t;
const purchase = await s.postPurchases({ listing: "@demo/hello" });
let postNotRetried = false;
try { await s.postSignup({ email: "a@b.test", name: "n", organization: "o" }); } catch (err) { postNotRetried = err instanceof ServerError && err.status === 503; }
let htmlKept = false;
try { await new Atoll({ baseUrl: e.STANDIN_URL, maxRetries: 0 }).getMarketplaceCategories(); } catch (err) { htmlKept = err instanceof ServerError && err.body.includes("oops") && err.problem.status === 500; }
// TypeScript refuses a missing required field at compile time (tsc checks this file).
// @ts-expect-error a required field is missing
const refused = () => s.postSignup({ email: "a@b.test" });
const missingRefused = typeof refused === "function" && typeof BadRequestError === "function";
let timedOut = false;
try { await new Atoll({ baseUrl: e.STANDIN_URL, maxRetries: 0, timeoutMs: 5000 }).getPortalTutorials({ timeoutMs: 300 }); } catch (err) { timedOut = err instanceof AtollTimeoutError && err.status === 0; }
let connectionFailed = false;
try { await new Atoll({ baseUrl: "http://127.0.0.1:1", maxRetries: 0 }).getMarketplaceCategories(); } catch (err) { connectionFailed = err instanceof AtollConnectionError; }
const dropped = (await s.getMarketplaceListingsByScopeByName("@x", "dropped")).name;
let longWaitThrown = false;
t = Date.now();
try { await s.getMarketplaceListingsByScopeByName("@x", "later"); } catch (err) { longWaitThrown = err instanceof RateLimitError && err.retryAfter === 3600 && Date.now() - t < 2000; }
console.log(JSON.stringify({ org: me.organization?.slug, published: published.plugin, zips: [isZip(sdk), isZip(tpl)], notFound, retry503Ms, retry429Ms, purchase: purchase.id, postNotRetried, htmlKept, missingRefused, timedOut, connectionFailed, dropped, longWaitThrown }));
`,
    );
    const tsc = await run(
      join(root, "node_modules", ".bin", "tsc"),
      [
        ...STRICT_NODE_TSC,
        "--types",
        "node",
        "--typeRoots",
        join(root, "node_modules", "@types"),
        "--outDir",
        "out",
        "check.ts",
      ],
      { cwd: project },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    const slug = slugFor("ts");
    const ran = await run(node20(), ["out/check.js"], {
      cwd: project,
      env: env({ SLUG: slug, PACKAGE_ZIP: packageFile(slug) }),
    });
    expect(ran.stderr).toBe("");
    expectReport(JSON.parse(ran.stdout) as Report, slug);
  }, 60_000);
});

describe("the Python SDK", () => {
  it.skipIf(!has("python3"))(
    "pip-installs offline into a fresh venv and does what it says",
    async () => {
      const sdk = join(await download("python"), "atoll-client-python");
      expect(readFileSync(join(sdk, "pyproject.toml"), "utf8")).toMatch(/requires = \[\]/);
      const venv = mkdtempSync(join(tmpdir(), "atoll-sdk-venv-"));
      const mk = await run("python3", ["-m", "venv", venv]);
      let python = join(venv, "bin", "python");
      let pythonPath = "";
      if (mk.status === 0) {
        const pip = await run(python, [
          "-m",
          "pip",
          "install",
          "--no-index",
          "--disable-pip-version-check",
          "-q",
          sdk,
        ]);
        expect(pip.status, pip.stdout + pip.stderr).toBe(0);
      } else {
        // Debian's python3 without python3-venv (ensurepip): say so, and use the folder as is.
        console.warn(
          `python3 -m venv failed here (install python3-venv): the Python SDK is imported from its folder, not pip-installed\n${mk.stderr}`,
        );
        python = "python3";
        pythonPath = sdk;
      }
      // The in-tree backend also builds an sdist (what `python -m build` would ask it for).
      const sdist = await run(
        "python3",
        [
          "-c",
          "import sys, tempfile, tarfile; sys.path.insert(0, '_build'); import atoll_build as b; d = tempfile.mkdtemp(); n = b.build_sdist(d); print(n, sorted(tarfile.open(d + '/' + n).getnames()))",
        ],
        { cwd: sdk },
      );
      expect(sdist.stdout).toMatch(
        /^atoll_client-0\.1\.0\.tar\.gz .*atoll_client-0\.1\.0\/atoll_client\/__init__\.py.*atoll_client-0\.1\.0\/pyproject\.toml/,
      );
      const check = join(venv, "check.py");
      writeFileSync(
        check,
        `import json, os, time
from atoll_client import Atoll, AtollConnectionError, AtollTimeoutError, AuthError, BadRequestError, NotFoundError, RateLimitError, ServerError
e = os.environ
anon = Atoll(e["ATOLL_URL"])
creds = anon.post_signup({"email": e["SLUG"] + "@example.test", "name": "SDK", "organization": {"name": "SDK", "slug": e["SLUG"]}})
atoll = Atoll(e["ATOLL_URL"], api_key=creds["apiKey"])
me = atoll.get_me()
with open(e["PACKAGE_ZIP"], "rb") as f:
    published = atoll.post_packages(f.read())
sdk = anon.get_portal_sdks_by_language("java")
tpl = atoll.get_marketplace_listings_by_scope_by_name_package("${TEMPLATE[0]}", "${TEMPLATE[1]}")
not_found = ""
try:
    atoll.get_installations_by_installation_id("ins_doesNotExist0000")
except NotFoundError as err:
    not_found = "%d %s" % (err.status, err.type)
try:
    anon.get_me()
    raise SystemExit("get_me without a key succeeded")
except AuthError:
    pass
s = Atoll(e["STANDIN_URL"], api_key="atk_standin", max_retries=3)
t = time.time(); s.get_me(); retry503 = (time.time() - t) * 1000
t = time.time(); s.get_marketplace_listings(); retry429 = (time.time() - t) * 1000
purchase = s.post_purchases({"listing": "@demo/hello"})
post_not_retried = False
try:
    s.post_signup({"email": "a@b.test", "name": "n", "organization": "o"})
except ServerError as err:
    post_not_retried = err.status == 503
html_kept = False
try:
    Atoll(e["STANDIN_URL"], max_retries=0).get_marketplace_categories()
except ServerError as err:
    html_kept = "oops" in err.body and err.problem["status"] == 500
missing_refused = False
try:
    s.post_signup({"email": "a@b.test"})
except BadRequestError as err:
    missing_refused = "name" in str(err) and err.status == 0
timed_out = False
try:
    Atoll(e["STANDIN_URL"], max_retries=0).get_portal_tutorials(timeout=0.3)
except AtollTimeoutError as err:
    timed_out = err.status == 0
connection_failed = False
try:
    Atoll("http://127.0.0.1:1", max_retries=0).get_marketplace_categories()
except AtollConnectionError:
    connection_failed = True
dropped = s.get_marketplace_listings_by_scope_by_name("@x", "dropped")["name"]
long_wait_thrown = False
t = time.time()
try:
    s.get_marketplace_listings_by_scope_by_name("@x", "later")
except RateLimitError as err:
    long_wait_thrown = err.retry_after == 3600 and time.time() - t < 2
print(json.dumps({"org": me["organization"]["slug"], "published": published["plugin"], "zips": [sdk[:2] == b"PK", tpl[:2] == b"PK"], "notFound": not_found, "retry503Ms": retry503, "retry429Ms": retry429, "purchase": purchase["id"], "postNotRetried": post_not_retried, "htmlKept": html_kept, "missingRefused": missing_refused, "timedOut": timed_out, "connectionFailed": connection_failed, "dropped": dropped, "longWaitThrown": long_wait_thrown}))
`,
      );
      const slug = slugFor("py");
      // Run from elsewhere than the SDK folder: the installed package is the one imported.
      const ran = await run(python, ["-s", check], {
        cwd: venv,
        env: env({ SLUG: slug, PACKAGE_ZIP: packageFile(slug), PYTHONPATH: pythonPath }),
      });
      expect(ran.stderr).toBe("");
      expectReport(JSON.parse(ran.stdout) as Report, slug);
    },
    60_000,
  );
});

describe("the Java SDK", () => {
  it.skipIf(!has("javac", "-version"))(
    "builds with mvn -o package (javac as a fallback) and does what it says",
    async () => {
      const dir = join(await download("java"), "atoll-client-java");
      expect(readFileSync(join(dir, "pom.xml"), "utf8")).toContain(
        "<artifactId>atoll-client</artifactId>",
      );
      let classpath = "target/classes";
      const mvn = has("mvn", "-v")
        ? await run("mvn", ["-o", "-q", "-B", "package"], { cwd: dir, timeoutMs: 90_000 })
        : null;
      if (!mvn || mvn.status !== 0) {
        console.warn(
          mvn
            ? `mvn -o package failed here (are the pinned plugins in ~/.m2?); building with javac instead:\n${mvn.stdout.slice(-1500)}`
            : "mvn is not installed here; building the Java SDK with javac instead",
        );
        const files = (await run("find", ["src", "-name", "*.java"], { cwd: dir })).stdout
          .trim()
          .split("\n");
        const javac = await run(
          "javac",
          ["-d", "out", "--release", "17", "-Xlint:none", ...files],
          { cwd: dir },
        );
        expect(javac.stderr).toBe("");
        classpath = "out";
      } else {
        expect(existsSync(join(dir, "target", "atoll-client-0.1.0.jar"))).toBe(true);
      }
      writeFileSync(
        join(dir, "Check.java"),
        `import dev.atoll.client.*;
import dev.atoll.client.models.*;
import java.nio.file.*;
import java.util.*;

public class Check {
  static boolean isZip(byte[] b) { return b.length > 1 && b[0] == 'P' && b[1] == 'K'; }
  public static void main(String[] args) throws Exception {
    Map<String, String> e = System.getenv();
    Atoll anon = Atoll.anonymous(e.get("ATOLL_URL"));
    Credentials creds = anon.postSignup(new SignupRequest(e.get("SLUG") + "@example.test", "SDK", Map.of("name", "SDK", "slug", e.get("SLUG"))));
    Atoll atoll = Atoll.withApiKey(e.get("ATOLL_URL"), creds.apiKey());
    Me me = atoll.getMe();
    PublishedVersion published = atoll.postPackages(Files.readAllBytes(Path.of(e.get("PACKAGE_ZIP"))));
    byte[] sdk = anon.getPortalSdksByLanguage("typescript");
    byte[] tpl = atoll.getMarketplaceListingsByScopeByNamePackage("${TEMPLATE[0]}", "${TEMPLATE[1]}");
    String notFound = "";
    try { atoll.getInstallationsByInstallationId("ins_doesNotExist0000"); } catch (NotFoundException x) { notFound = x.status + " " + x.type; }
    try { anon.getMe(); throw new IllegalStateException("getMe without a key succeeded"); } catch (AuthException expected) { }
    Atoll s = Atoll.withApiKey(e.get("STANDIN_URL"), "atk_standin").maxRetries(3);
    long t = System.currentTimeMillis(); s.getMe(); long retry503 = System.currentTimeMillis() - t;
    t = System.currentTimeMillis(); s.getMarketplaceListings(); long retry429 = System.currentTimeMillis() - t;
    Purchase purchase = s.postPurchases(new PurchaseRequest("@demo/hello", null));
    boolean postNotRetried = false;
    try { s.postSignup(new SignupRequest("a@b.test", "n", "o")); } catch (ServerException x) { postNotRetried = x.status == 503; }
    boolean htmlKept = false;
    try { Atoll.anonymous(e.get("STANDIN_URL")).maxRetries(0).getMarketplaceCategories(); } catch (ServerException x) { htmlKept = x.body.contains("oops") && Long.valueOf(500).equals(x.problem.get("status")); }
    boolean missingRefused = false;
    try { s.postSignup(new SignupRequest("a@b.test", null, "o")); } catch (BadRequestException x) { missingRefused = x.status == 0 && x.getMessage().contains("name"); }
    boolean timedOut = false;
    try { Atoll.anonymous(e.get("STANDIN_URL")).maxRetries(0).timeout(java.time.Duration.ofMillis(300)).getPortalTutorials(); } catch (AtollTimeoutException x) { timedOut = x.status == 0; }
    boolean connectionFailed = false;
    try { Atoll.anonymous("http://127.0.0.1:1").maxRetries(0).getMarketplaceCategories(); } catch (AtollConnectionException x) { connectionFailed = true; }
    String dropped = s.getMarketplaceListingsByScopeByName("@x", "dropped").name();
    boolean longWaitThrown = false;
    t = System.currentTimeMillis();
    try { s.getMarketplaceListingsByScopeByName("@x", "later"); } catch (RateLimitException x) { longWaitThrown = x.status == 429 && System.currentTimeMillis() - t < 2000; }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("org", me.organization().slug());
    out.put("published", published.plugin());
    out.put("zips", List.of(isZip(sdk), isZip(tpl)));
    out.put("notFound", notFound);
    out.put("retry503Ms", retry503);
    out.put("retry429Ms", retry429);
    out.put("purchase", purchase.id());
    out.put("postNotRetried", postNotRetried);
    out.put("htmlKept", htmlKept);
    out.put("missingRefused", missingRefused);
    out.put("timedOut", timedOut);
    out.put("connectionFailed", connectionFailed);
    out.put("dropped", dropped);
    out.put("longWaitThrown", longWaitThrown);
    System.out.println(Json.write(out));
  }
}
`,
      );
      const javac = await run("javac", ["-cp", classpath, "-d", "check-out", "Check.java"], {
        cwd: dir,
      });
      expect(javac.stderr).toBe("");
      const slug = slugFor("java");
      const ran = await run("java", ["-cp", `${classpath}:check-out`, "Check"], {
        cwd: dir,
        env: env({ SLUG: slug, PACKAGE_ZIP: packageFile(slug) }),
      });
      expect(ran.stderr).toBe("");
      expectReport(JSON.parse(ran.stdout) as Report, slug);
    },
    90_000,
  );
});

describe("a plugin's SDK and reference", () => {
  it("generates a client from the routes a plugin declares", async () => {
    const doc = (await (
      await fetch(`${base}/v1/marketplace/listings/@demo/hello/openapi.json`)
    ).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain("/p/{installationId}/hello/{name}");
    const dir = join(
      await download("typescript", "?plugin=@demo/hello"),
      "demo-hello-client-typescript",
    );
    const dts = readFileSync(join(dir, "dist", "index.d.ts"), "utf8");
    expect(dts).toMatch(/getHelloByName\(installationId: string \| number, name: string \| number/);
  });

  it("refuses an unknown language and an unknown plugin", async () => {
    expect((await fetch(`${base}/v1/portal/sdks/cobol`)).status).toBe(400);
    expect((await fetch(`${base}/v1/portal/sdks/python?plugin=@demo/nope`)).status).toBe(404);
  });

  it("a manifest full of breakouts yields SDKs that compile and execute nothing", async () => {
    const canaryDir = mkdtempSync(join(tmpdir(), "atoll-sdk-canary-"));
    const canary = join(canaryDir, "CANARY");
    const name = `evil-${Math.random().toString(36).slice(2, 8)}`;
    const manifest = {
      name: `@demo/${name}`,
      version: "1.0.0",
      displayName: `E */ process.stdout.write("PWNED-1") /*\n"""\u2028 print("PWNED-2")`,
      description: `\n__import__("os").system("touch ${canary}") """ \\u000a System.out.println("PWNED-3"); */ static { System.out.println("PWNED-4"); } \${process.stdout.write("PWNED-5")} "+process.stdout.write("PWNED-6")+"`,
      author: "e2e",
      kind: "plugin",
      entry: "index.js",
      apiVersion: "1",
      routes: [
        {
          method: "POST",
          path: "/x/{a-b}/{class}",
          summary: `*/ static { System.out.println("PWNED-7"); } /* \\u000a System.out.println("PWNED-8"); """ ; print("PWNED-9")`,
        },
        {
          method: "GET",
          path: "/{__proto__}/{constructor}",
          summary: '\u2029 process.stdout.write("PWNED-10")',
        },
      ],
    };
    const pub = await fetch(`${base}/v1/packages`, {
      method: "POST",
      headers: { "x-api-key": creds.apiKey, "content-type": "application/zip" },
      body: zipSync({
        "manifest.json": strToU8(JSON.stringify(manifest)),
        "index.js": strToU8("export default { fetch() { return Response.json({}); } };"),
      }),
    });
    expect(pub.status, await pub.clone().text()).toBe(201);
    expect(((await pub.json()) as { status?: string }).status).toBe("published");
    const query = `?plugin=@demo/${name}`;
    const client = `demo-${name}-client`;
    const [ts, py, java] = await Promise.all([
      download("typescript", query),
      download("python", query),
      download("java", query),
    ]);
    const clean = (r: { stdout: string; stderr: string }) => {
      expect(r.stdout + r.stderr).not.toMatch(/PWNED-/);
      expect(existsSync(canary)).toBe(false);
    };
    const tsDir = join(ts, `${client}-typescript`);
    const tsc = await run(
      join(root, "node_modules", ".bin", "tsc"),
      ["--noEmit", ...STRICT_NODE_TSC, "--lib", "ES2022,DOM", "dist/index.d.ts"],
      { cwd: tsDir },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    const node = await run(
      node20(),
      [
        "--input-type=module",
        "-e",
        `const m = await import("./dist/index.js"); new m.Atoll(); console.log(Object.getOwnPropertyNames(m.Atoll.prototype).join(","));`,
      ],
      { cwd: tsDir },
    );
    clean(node);
    expect(node.stdout).toMatch(/postXByABByClass/);
    if (has("python3")) {
      const pyDir = join(py, `${client}-python`);
      const module =
        /^name = "(.+)"$/m.exec(
          readFileSync(join(pyDir, "_build", "atoll_build.py"), "utf8").replace(
            /^MODULE = /m,
            "name = ",
          ),
        )?.[1] ?? "";
      expect(module).toMatch(/^demo_evil/);
      const compile = await run("python3", ["-m", "py_compile", `${module}/__init__.py`], {
        cwd: pyDir,
      });
      expect(compile.stdout + compile.stderr).toBe("");
      const imported = await run(
        "python3",
        [
          "-E",
          "-s",
          "-c",
          `import ${module} as m; m.Atoll(); print(sorted(k for k in vars(m.Atoll) if not k.startswith("_")))`,
        ],
        { cwd: pyDir },
      );
      clean(imported);
      expect(imported.status, imported.stderr).toBe(0);
    }
    if (has("javac", "-version")) {
      const javaDir = join(java, `${client}-java`);
      const files = (await run("find", ["src", "-name", "*.java"], { cwd: javaDir })).stdout
        .trim()
        .split("\n");
      const javac = await run("javac", ["-d", "out", "--release", "17", "-Xlint:none", ...files], {
        cwd: javaDir,
      });
      expect(javac.stderr).toBe("");
      writeFileSync(
        join(javaDir, "Load.java"),
        `public class Load { public static void main(String[] a) throws Exception { Object c = Class.forName("dev.atoll.client.Atoll").getMethod("anonymous", String.class).invoke(null, "http://127.0.0.1:9"); System.out.println(c != null); } }`,
      );
      const lc = await run("javac", ["-cp", "out", "-d", "out", "Load.java"], { cwd: javaDir });
      expect(lc.stderr).toBe("");
      const ran = await run("java", ["-cp", "out", "Load"], { cwd: javaDir });
      clean(ran);
      expect(ran.stdout.trim()).toBe("true");
    }
  }, 60_000);
});
