/** Helpers for plugin tests: packages from the built examples or from raw module source. */
import { strToU8, unzipSync, zipSync } from "fflate";
import { inject } from "vitest";
import { OPERATOR_KEY, call, signup, type Account } from "./helpers";

export function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A built example plugin, renamed into `scope` (each test organization publishes its own copy). */
export function examplePackage(
  name: string,
  scope: string,
  version?: string,
): Uint8Array<ArrayBuffer> {
  const fixture = inject("plugins")[name];
  if (!fixture) throw new Error(`no built plugin ${name}`);
  return repack(fromBase64(fixture.zipBase64), (m) => ({
    ...m,
    name: String(m.name).replace(/^@[^/]+\//, `@${scope}/`),
    ...(version ? { version } : {}),
  }));
}

/** Rewrites the manifest inside a zip. */
export function repack(
  zip: Uint8Array<ArrayBuffer>,
  edit: (m: Record<string, unknown>) => Record<string, unknown>,
): Uint8Array<ArrayBuffer> {
  const files = unzipSync(zip);
  const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"])) as Record<
    string,
    unknown
  >;
  files["manifest.json"] = strToU8(JSON.stringify(edit(manifest)));
  return zipSync(files) as Uint8Array<ArrayBuffer>;
}

/** A package from raw module source (a plain Worker module is a valid plugin). */
export function rawPackage(
  scope: string,
  source: string,
  manifest: Record<string, unknown> = {},
): Uint8Array<ArrayBuffer> {
  const m = {
    name: `@${scope}/raw-${Math.random().toString(36).slice(2, 8)}`,
    version: "1.0.0",
    description: "test plugin",
    author: "tests",
    kind: "plugin",
    entry: "index.js",
    apiVersion: "1",
    ...manifest,
  };
  return zipSync({
    "manifest.json": strToU8(JSON.stringify(m)),
    "index.js": strToU8(source),
  }) as Uint8Array<ArrayBuffer>;
}

export async function publishZip(
  account: Account,
  zip: Uint8Array<ArrayBuffer>,
): Promise<Response> {
  return call("/v1/packages", {
    method: "POST",
    key: account.apiKey,
    body: zip,
    headers: { "content-type": "application/zip" },
  });
}

export async function installPlugin(
  account: Account,
  body: Record<string, unknown>,
): Promise<Response> {
  return call("/v1/installations", { method: "POST", key: account.apiKey, json: body });
}

/** Publishes and installs in one go; returns the installation. */
export async function publishAndInstall(
  account: Account,
  zip: Uint8Array<ArrayBuffer>,
  install: Record<string, unknown> = {},
): Promise<{ id: string; endpoint: string; plugin: string }> {
  const pub = await publishZip(account, zip);
  if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${await pub.text()}`);
  const { plugin, permissions } = (await pub.json()) as {
    plugin: string;
    permissions: { permission: string }[];
  };
  const res = await installPlugin(account, {
    plugin,
    grants: permissions.map((p) => p.permission),
    ...install,
  });
  if (res.status !== 201) throw new Error(`install: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; endpoint: string; plugin: string };
}

/** A fresh organization on the enterprise plan (plugin tests make many calls). */
export async function publisher(prefix = "p"): Promise<Account> {
  const a = await signup(prefix);
  await call(`/v1/operator/organizations/${a.orgId}/plan`, {
    method: "PUT",
    key: OPERATOR_KEY,
    json: { plan: "enterprise" },
  });
  return a;
}

/** Publishes example plugin `name` under a fresh publisher: its key and the publish answer. */
export async function publishExample(
  name: string,
): Promise<{ key: string; plugin: string; permissions: { permission: string }[] }> {
  const a = await publisher("c");
  const pub = await publishZip(a, examplePackage(name, a.slug));
  if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${await pub.text()}`);
  return {
    key: a.apiKey,
    ...((await pub.json()) as { plugin: string; permissions: { permission: string }[] }),
  };
}
