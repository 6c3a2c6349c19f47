// What `npm run bench` measures against: a bench organization on the enterprise plan (so that
// admitted requests are measured), a JWT, the hello plugin published and installed (with declared
// routes, and again declaring none), a free organization whose key is exhausted (the 429 path),
// and the scenarios built on them. Also the cold-load samples.
import { spawnSync } from "node:child_process";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/local-platform.mjs";

export const OPERATOR = "bench-operator-key-0123456789";

async function post(url, path, body, headers = {}) {
  const res = await fetch(url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

let helloZip;
function builtHello() {
  if (helloZip) return helloZip;
  const built = spawnSync(
    process.execPath,
    [join(ROOT, "packages", "cli", "bin", "atoll.mjs"), "build", join(ROOT, "plugins", "hello")],
    { encoding: "utf8" },
  );
  if (built.status !== 0) throw new Error(`building hello failed: ${built.stderr}`);
  helloZip = new Uint8Array(
    readFileSync(join(ROOT, "plugins", "hello", "dist", "hello-1.0.0.zip")),
  );
  return helloZip;
}

// `routes: "declared"`: hello's routes, /hello/{name} with a parameter schema (the gateway
// matches the route and validates before the isolate); "open": no routes declared (every path
// goes through unmatched) — the pair measures route matching and validation.
function repack(version, salt, routes = "declared", name = "@bench/hello") {
  const files = unzipSync(builtHello());
  const m = JSON.parse(strFromU8(files["manifest.json"]));
  const declared = m.routes.map((r) =>
    r.path === "/hello/{name}"
      ? { ...r, params: { name: { type: "string", minLength: 1, maxLength: 64 } } }
      : r,
  );
  const { routes: _routes, ...rest } = m;
  files["manifest.json"] = strToU8(
    JSON.stringify({
      ...rest,
      name,
      version,
      ...(routes === "declared" ? { routes: declared } : {}),
    }),
  );
  files["index.js"] = strToU8(strFromU8(files["index.js"]) + `\n// ${salt}\n`);
  return zipSync(files);
}

/**
 * Prepares a started platform; returns { scenarios, cold } (cold: ms of the first request after
 * installing each of `coldSamples` never-loaded packages: R2 read, hash check, unzip, new isolate).
 */
export async function prepare(url, { coldSamples = 0 } = {}) {
  const org = await post(url, "/v1/signup", {
    email: "bench@atoll.local",
    name: "Bench",
    organization: { name: "Bench", slug: "bench" },
  });
  await fetch(`${url}/v1/operator/organizations/${org.organization.id}/plan`, {
    method: "PUT",
    headers: { "content-type": "application/json", "x-api-key": OPERATOR },
    body: JSON.stringify({ plan: "enterprise" }),
  });
  const jwtKey = await post(
    url,
    "/v1/api-keys",
    { name: "jwt-client" },
    { "x-api-key": org.apiKey },
  );
  const tokenRes = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: jwtKey.id,
      client_secret: jwtKey.key,
    }),
  });
  const { access_token: jwt } = await tokenRes.json();
  const keyHeaders = { "x-api-key": org.apiKey };
  const publishHello = async (version, salt, routes, name) => {
    const r = await fetch(`${url}/v1/packages`, {
      method: "POST",
      headers: { ...keyHeaders, "content-type": "application/zip" },
      body: repack(version, salt, routes, name),
    });
    if (r.status !== 201) throw new Error(`publish: ${r.status} ${await r.text()}`);
  };
  const installHello = async (version, environment, plugin = "@bench/hello") => {
    const r = await fetch(`${url}/v1/installations`, {
      method: "POST",
      headers: { ...keyHeaders, "content-type": "application/json" },
      body: JSON.stringify({ plugin, version, environment, grants: ["storage"] }),
    });
    if (r.status !== 201) throw new Error(`install: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const cold = [];
  for (let i = 1; i <= coldSamples; i++) {
    await publishHello(`0.0.${i}`, `cold-${i}-${Date.now()}`);
    const inst = await installHello(`0.0.${i}`, "staging");
    const t0 = performance.now();
    const r = await fetch(`${url}${inst.endpoint}/hello/cold`, { headers: keyHeaders });
    await r.arrayBuffer();
    cold.push(performance.now() - t0);
    await fetch(`${url}/v1/installations/${inst.id}`, { method: "DELETE", headers: keyHeaders });
  }
  await publishHello("1.0.0", "warm");
  const warm = await installHello("1.0.0", "production");
  await publishHello("1.0.0", "open", "open", "@bench/hello-open");
  const open = await installHello("1.0.0", "production", "@bench/hello-open");
  for (let i = 0; i < 20; i++) {
    await (await fetch(`${url}${warm.endpoint}/hello/warm`, { headers: keyHeaders })).arrayBuffer();
    await (await fetch(`${url}${open.endpoint}/hello/warm`, { headers: keyHeaders })).arrayBuffer();
  }
  const free = await post(url, "/v1/signup", {
    email: "free@atoll.local",
    name: "Free",
    organization: { name: "Free", slug: "free-bench" },
  });
  for (let i = 0; i < 61; i++)
    await (await fetch(`${url}/v1/me`, { headers: { "x-api-key": free.apiKey } })).arrayBuffer();

  const scenarios = [
    { name: "bare", what: "GET /healthz (no auth)", opts: { url: `${url}/healthz` } },
    {
      name: "jwt",
      what: "GET /v1/me, Bearer JWT (EdDSA verify + lease rate limit)",
      opts: { url: `${url}/v1/me`, headers: { authorization: `Bearer ${jwt}` } },
    },
    {
      name: "apikey",
      what: "GET /v1/me, X-API-Key (checksum + SHA-256 + cache + lease rate limit)",
      opts: { url: `${url}/v1/me`, headers: { "x-api-key": org.apiKey } },
    },
    {
      name: "plugin-route",
      what: "GET {endpoint}/hello/{name} on a warm plugin (auth + limits + route match + validation + isolate)",
      opts: { url: `${url}${warm.endpoint}/hello/bench`, headers: { "x-api-key": org.apiKey } },
    },
    {
      name: "plugin-open",
      what: "the same plugin declaring no routes (no matching, no validation)",
      opts: { url: `${url}${open.endpoint}/hello/bench`, headers: { "x-api-key": org.apiKey } },
    },
    {
      name: "execute",
      what: "POST /v1/installations/{id}/execute on a warm plugin",
      opts: {
        url: `${url}/v1/installations/${warm.id}/execute`,
        method: "POST",
        headers: { "x-api-key": org.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ input: { name: "bench" } }),
      },
    },
    {
      name: "ratelimited",
      what: "GET /v1/me on an exhausted free key (429 path)",
      opts: { url: `${url}/v1/me`, headers: { "x-api-key": free.apiKey } },
      expect: 429,
    },
    {
      name: "mixed",
      what: "bare, JWT and API key in rotation",
      opts: {
        url,
        requests: [
          { method: "GET", path: "/healthz" },
          { method: "GET", path: "/v1/me", headers: { authorization: `Bearer ${jwt}` } },
          { method: "GET", path: "/v1/me", headers: { "x-api-key": org.apiKey } },
        ],
      },
    },
  ];
  return { scenarios, cold };
}
