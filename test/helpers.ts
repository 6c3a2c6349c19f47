/** Helpers for tests that run inside workerd against the real app and bindings. */
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { Contract, type ContractDocument } from "./contract";

export const BASE = "http://atoll.test";
export const OPERATOR_KEY = "test-operator-key-0123456789";

export function call(
  path: string,
  init: RequestInit & { key?: string; token?: string; json?: unknown; ip?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("cf-connecting-ip", init.ip ?? testClientIp());
  if (init.key) headers.set("x-api-key", init.key);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  const request = new Request(BASE + path, { ...init, headers, body: body ?? null });
  return exports.default.fetch(request).then(async (res) => {
    await holdToDocument(request, res);
    return res;
  });
}

let contract: Promise<Contract> | null = null;

/**
 * The drift check: a response the document does not promise (status, content type, body schema)
 * fails the test that received it. Plugins' own answers under /p/ and /apps/ are the plugin's:
 * only the gateway's problem documents there are checked.
 */
async function holdToDocument(request: Request, res: Response): Promise<void> {
  const url = new URL(request.url);
  const type = res.headers.get("content-type");
  const pluginAnswer =
    /^\/(p|apps)\//.test(url.pathname) && !type?.startsWith("application/problem+json");
  contract ??= exports.default
    .fetch(new Request(`${BASE}/openapi.json`))
    .then(async (r) => new Contract((await r.json()) as ContractDocument));
  const wrong = (await contract).check({
    method: request.method,
    path: url.pathname,
    status: res.status,
    contentType: type,
    body: pluginAnswer || request.method === "HEAD" ? "" : await res.clone().text(),
    pluginAnswer,
  });
  if (wrong.length === 0) return;
  if (env.ATOLL_CONTRACT_CHECK === "report") console.warn(`CONTRACT-DRIFT ${wrong.join("\n")}`);
  else throw new Error(`The response is not what the API document promises:\n${wrong.join("\n")}`);
}

/**
 * The client address of the running test, as Cloudflare would set it: one per test (from its file
 * and name), so tests do not share anonymous budgets. `call()` sets it on every request, replacing
 * any CF-Connecting-IP the test sent (as Cloudflare does); `ip` picks another address.
 */
export function testClientIp(): string {
  const { testPath = "", currentTestName = "" } = expect.getState();
  let h = 2166136261;
  for (const ch of `${testPath}\u0000${currentTestName}`)
    h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  h >>>= 0;
  return `10.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${h & 255}`;
}

let counter = 0;

export interface Account {
  apiKey: string;
  apiKeyId: string;
  userId: string;
  orgId: string;
  slug: string;
  email: string;
}

/** Signs up a fresh user and organization; unique per call. */
export async function signup(prefix = "t"): Promise<Account> {
  counter += 1;
  const tag = `${prefix}${counter}${Math.random().toString(36).slice(2, 8)}`;
  const email = `${tag}@example.test`;
  const res = await call("/v1/signup", {
    method: "POST",
    json: { email, name: `User ${tag}`, organization: { name: `Org ${tag}`, slug: `org-${tag}` } },
  });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as {
    apiKey: string;
    apiKeyId: string;
    user: { id: string };
    organization: { id: string; slug: string };
  };
  return {
    apiKey: body.apiKey,
    apiKeyId: body.apiKeyId,
    userId: body.user.id,
    orgId: body.organization.id,
    slug: body.organization.slug,
    email,
  };
}

export async function token(
  account: Pick<Account, "apiKey" | "apiKeyId">,
  scope?: string,
): Promise<string> {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: account.apiKeyId,
    client_secret: account.apiKey,
  });
  if (scope) form.set("scope", scope);
  const res = await call("/oauth/token", {
    method: "POST",
    body: form,
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  if (res.status !== 200) throw new Error(`token failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export async function problem(res: Response): Promise<{
  type: string;
  title: string;
  status: number;
  detail?: string;
  requestId?: string;
  [k: string]: unknown;
}> {
  if (!res.headers.get("content-type")?.startsWith("application/problem+json")) {
    throw new Error(
      `expected a problem document, got ${res.status} ${res.headers.get("content-type")}: ${await res.text()}`,
    );
  }
  return res.json();
}

/**
 * Rate-limit windows are aligned to the minute. A test that counts admissions within one window
 * waits out the last few seconds of a window rather than straddle two.
 */
export async function awayFromWindowEdge(windowMs = 60_000, marginMs = 5_000): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 20));
}

/**
 * What the local plugin host sends to a `/__host/*` bridge: `fields` (the old JSON envelope, with
 * the `grant`/`logs` token as `token` or `grant`) sealed in a single-use relay with `secret`.
 */
export async function hostRelay(
  path: "/__host/logs" | "/__host/integrations",
  fields: Record<string, unknown>,
  secret = env.ATOLL_HOST_SECRET ?? "",
): Promise<Response> {
  const { token, grant, ...rest } = fields;
  const { sealRelay } = await import("../src/runtime/host-auth");
  return call(path, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: await sealRelay(secret, path, String(token ?? grant ?? ""), JSON.stringify(rest)),
  });
}
