/**
 * The generated SDKs, downloaded from the running platform and used against it: the TypeScript
 * one type-checks (tsc, strict) and runs on Node; the Python one runs under python3 (standard
 * library only). Each authenticates with an API key and with OAuth client credentials, pages a
 * listing search, and turns a problem document into its typed error.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
  apiKey: string;
  apiKeyId: string;
};
const root = join(import.meta.dirname, "..", "..");

async function download(language: string, query = ""): Promise<string> {
  const res = await fetch(`${base}/v1/portal/sdks/${language}${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/zip");
  const dir = mkdtempSync(join(tmpdir(), `atoll-sdk-${language}-`));
  for (const [path, bytes] of Object.entries(unzipSync(new Uint8Array(await res.arrayBuffer())))) {
    const target = join(dir, path);
    execFileSync("mkdir", ["-p", join(target, "..")]);
    writeFileSync(target, bytes);
  }
  return dir;
}

const has = (cmd: string) => {
  const ok = spawnSync(cmd, ["--version"], { encoding: "utf8" }).status === 0;
  // CI installs them (.ci/run); elsewhere a missing toolchain skips its test, and says so.
  if (!ok)
    console.warn(
      `${cmd} is not installed here: its SDK test is skipped (apt-get install ${cmd === "javac" ? "openjdk-17-jdk-headless" : "python3"})`,
    );
  return ok;
};

describe("the TypeScript SDK", () => {
  it("type-checks under strict tsc and works against the platform", async () => {
    const dir = join(await download("typescript"), "atoll-client-typescript");
    writeFileSync(
      join(dir, "check.ts"),
      `import { Atoll, AtollError } from "./src/index.ts";
const byKey = new Atoll({ baseUrl: process.env.ATOLL_URL!, apiKey: process.env.ATOLL_API_KEY });
const me = await byKey.getMe();
const byToken = new Atoll({ baseUrl: process.env.ATOLL_URL!, clientId: process.env.ATOLL_KEY_ID, clientSecret: process.env.ATOLL_API_KEY });
const me2 = await byToken.getMe();
let pages = 0;
let names: string[] = [];
for await (const page of byKey.getMarketplaceListingsPages({ query: { limit: 2 } })) {
  pages++;
  names = names.concat(page.listings.map((l) => l.name));
  if (pages >= 3) break;
}
let problem = "";
try {
  await byKey.getInstallationsByInstallationId("ins_doesNotExist0000");
} catch (err) {
  if (err instanceof AtollError) problem = \`\${err.status} \${err.type}\`;
}
console.log(JSON.stringify({ org: me.organization?.slug, org2: me2.organization?.slug, pages, names: names.length, problem }));
`,
    );
    const tsc = spawnSync(
      join(root, "node_modules", ".bin", "tsc"),
      [
        "--noEmit",
        "--strict",
        "--target",
        "ES2022",
        "--module",
        "NodeNext",
        "--moduleResolution",
        "NodeNext",
        "--allowImportingTsExtensions",
        "--skipLibCheck",
        "--types",
        "node",
        "--typeRoots",
        join(root, "node_modules", "@types"),
        "check.ts",
      ],
      { cwd: dir, encoding: "utf8" },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const run = spawnSync(process.execPath, ["check.ts"], {
      cwd: dir,
      encoding: "utf8",
      env: {
        ...process.env,
        ATOLL_URL: base,
        ATOLL_API_KEY: creds.apiKey,
        ATOLL_KEY_ID: creds.apiKeyId,
      },
    });
    expect(run.stderr.replace(/.*ExperimentalWarning.*\n?|.*--trace-warnings.*\n?/g, "")).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({
      org: "demo",
      org2: "demo",
      pages: 3,
      names: 6,
      problem: "404 not-found",
    });
  });
});

describe("the Python SDK", () => {
  it.skipIf(!has("python3"))(
    "runs under python3 (standard library only) against the platform",
    async () => {
      const dir = join(await download("python"), "atoll-client-python");
      writeFileSync(
        join(dir, "check.py"),
        `import json, os
from atoll import Atoll, AtollError
by_key = Atoll(os.environ["ATOLL_URL"], api_key=os.environ["ATOLL_API_KEY"])
by_token = Atoll(os.environ["ATOLL_URL"], client_id=os.environ["ATOLL_KEY_ID"], client_secret=os.environ["ATOLL_API_KEY"])
me, me2 = by_key.get_me(), by_token.get_me()
pages, names = 0, 0
for page in by_key.get_marketplace_listings_pages(limit=2):
    pages += 1
    names += len(page["listings"])
    if pages >= 3:
        break
problem = ""
try:
    by_key.get_installations_by_installation_id("ins_doesNotExist0000")
except AtollError as err:
    problem = f"{err.status} {err.type}"
print(json.dumps({"org": me["organization"]["slug"], "org2": me2["organization"]["slug"], "pages": pages, "names": names, "problem": problem}))
`,
      );
      const run = spawnSync("python3", ["-E", "-s", "check.py"], {
        cwd: dir,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH ?? "",
          ATOLL_URL: base,
          ATOLL_API_KEY: creds.apiKey,
          ATOLL_KEY_ID: creds.apiKeyId,
        },
      });
      expect(run.stderr).toBe("");
      expect(JSON.parse(run.stdout)).toEqual({
        org: "demo",
        org2: "demo",
        pages: 3,
        names: 6,
        problem: "404 not-found",
      });
    },
  );
});

describe("the Java SDK", () => {
  it.skipIf(!has("javac"))(
    "compiles with javac (JDK 17, java.net.http) and works against the platform",
    async () => {
      const dir = join(await download("java"), "atoll-client-java");
      writeFileSync(
        join(dir, "Check.java"),
        `import dev.atoll.client.*;
import java.util.Map;

public class Check {
  public static void main(String[] args) {
    String url = System.getenv("ATOLL_URL");
    Atoll byKey = Atoll.withApiKey(url, System.getenv("ATOLL_API_KEY"));
    Atoll byToken = Atoll.withClientCredentials(url, System.getenv("ATOLL_KEY_ID"), System.getenv("ATOLL_API_KEY"));
    var me = byKey.getMe();
    var me2 = byToken.getMe();
    int pages = 0, names = 0;
    for (var page : byKey.getMarketplaceListingsPages(Map.of("limit", 2))) {
      pages++;
      names += page.listings().size();
      if (pages >= 3) break;
    }
    String problem = "";
    try {
      byKey.getInstallationsByInstallationId("ins_doesNotExist0000");
    } catch (AtollException e) {
      problem = e.status + " " + e.type;
    }
    System.out.println(Json.write(Map.of("org", me.organization().slug(), "org2", me2.organization().slug(), "pages", pages, "names", names, "problem", problem)));
  }
}
`,
      );
      const files = execFileSync("find", ["src", "-name", "*.java"], { cwd: dir, encoding: "utf8" })
        .trim()
        .split("\n");
      const javac = spawnSync(
        "javac",
        ["-d", "out", "--release", "17", "-Xlint:none", ...files, "Check.java"],
        { cwd: dir, encoding: "utf8" },
      );
      expect(javac.stderr).toBe("");
      const run = spawnSync("java", ["-cp", "out", "Check"], {
        cwd: dir,
        encoding: "utf8",
        env: {
          ...process.env,
          ATOLL_URL: base,
          ATOLL_API_KEY: creds.apiKey,
          ATOLL_KEY_ID: creds.apiKeyId,
        },
      });
      expect(run.stderr).toBe("");
      expect(JSON.parse(run.stdout)).toEqual({
        org: "demo",
        org2: "demo",
        pages: 3,
        names: 6,
        problem: "404 not-found",
      });
    },
    60_000,
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
    const index = readFileSync(join(dir, "src", "index.ts"), "utf8");
    expect(index).toMatch(/getHelloByName\(installationId: string, name: string/);
  });

  it("refuses an unknown language and an unknown plugin", async () => {
    expect((await fetch(`${base}/v1/portal/sdks/cobol`)).status).toBe(400);
    expect((await fetch(`${base}/v1/portal/sdks/python?plugin=@demo/nope`)).status).toBe(404);
  });
});
