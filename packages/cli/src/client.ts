/** The CLI's client of the platform API (publish, install, look up). */
import semver from "semver";
import { CliError } from "./build";

export interface Target {
  url: string;
  key: string;
}

interface Problem {
  title?: string;
  detail?: string;
  errors?: { path: string; message: string }[];
}

async function call<T>(
  t: Target,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(t.url.replace(/\/$/, "") + path, {
      ...init,
      headers: { "x-api-key": t.key, ...(init.headers as Record<string, string>) },
    });
  } catch (err) {
    throw new CliError(
      `cannot reach ${t.url}: ${(err as Error).message} (is the platform running? npm start)`,
    );
  }
  const text = await res.text();
  let body: T;
  try {
    body = (text ? JSON.parse(text) : null) as T;
  } catch {
    throw new CliError(
      `${t.url} answered ${res.status} with something that is not JSON: is it an Atoll platform?`,
    );
  }
  return { status: res.status, body };
}

function fail(what: string, status: number, p: Problem | null): never {
  const lines = [`${what} failed (${status}): ${p?.detail ?? p?.title ?? "no detail"}`];
  for (const e of p?.errors ?? []) lines.push(`  - ${e.path}: ${e.message}`);
  throw new CliError(lines.join("\n"));
}

export async function publish(
  t: Target,
  bytes: Uint8Array,
  provenance?: string,
): Promise<{ plugin: string; version: string; sha256: string; size: number; status?: string }> {
  const r = await call<
    { plugin: string; version: string; sha256: string; size: number; status?: string } & Problem
  >(t, "/v1/packages", {
    method: "POST",
    headers: {
      "content-type": "application/zip",
      ...(provenance ? { "x-atoll-provenance": provenance } : {}),
    },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  if (r.status !== 201) fail("publish", r.status, r.body);
  return r.body;
}

export async function latestVersion(t: Target, name: string): Promise<string | null> {
  const [scope, short] = name.split("/");
  const r = await call<{ versions: { version: string }[] }>(t, `/v1/plugins/${scope}/${short}`);
  if (r.status === 404) return null;
  if (r.status !== 200) fail("looking up the plugin", r.status, r.body as Problem);
  return r.body.versions.map((v) => v.version).sort(semver.rcompare)[0] ?? null;
}

export interface InstallationInfo {
  id: string;
  plugin: string;
  version: string;
  environment: string;
  endpoint: string;
}

export async function installations(t: Target): Promise<InstallationInfo[]> {
  const r = await call<{ installations: InstallationInfo[] }>(t, "/v1/installations");
  if (r.status !== 200) fail("listing installations", r.status, r.body as Problem);
  return r.body.installations;
}

export async function uninstall(t: Target, id: string): Promise<void> {
  const r = await call<Problem>(t, `/v1/installations/${id}`, { method: "DELETE" });
  if (r.status !== 204) fail("uninstall", r.status, r.body);
}

/** Upgrades an installation in place: same id, URL, storage; config and secrets kept unless given. */
export async function upgrade(
  t: Target,
  id: string,
  body: { version: string; grants: string[]; config?: unknown; secrets?: Record<string, string> },
): Promise<InstallationInfo> {
  const r = await call<InstallationInfo & Problem>(t, `/v1/installations/${id}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) fail("upgrade", r.status, r.body);
  return r.body;
}

export async function install(
  t: Target,
  body: {
    plugin: string;
    version?: string;
    environment?: string;
    config?: unknown;
    secrets?: Record<string, string>;
    grants: string[];
  },
): Promise<InstallationInfo> {
  const r = await call<InstallationInfo & Problem>(t, "/v1/installations", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (r.status !== 201) fail("install", r.status, r.body);
  return r.body;
}

/** One log record, as the platform and the standalone dev server both serve it. */
export interface LogLine {
  id: number;
  at: string | number;
  level: string;
  message: string;
  stack?: string;
}

/** An installation's log records after cursor `after` (GET /v1/installations/{id}/logs). */
export async function installationLogs(
  t: Target,
  id: string,
  after: number,
): Promise<{ logs: LogLine[]; next: number }> {
  if (!/^ins_[0-9A-Za-z]{1,40}$/.test(id))
    throw new CliError(`"${id}" is not an installation id (ins_…)`);
  const r = await call<{ logs: LogLine[]; next: number } & Problem>(
    t,
    `/v1/installations/${id}/logs?after=${after}&limit=500`,
  );
  if (r.status !== 200) fail("reading logs", r.status, r.body);
  return r.body;
}

export interface PublisherKeyInfo {
  id: string;
  name: string;
  fingerprint: string;
  createdAt: string;
  revokedAt: string | null;
}

async function orgId(t: Target): Promise<string> {
  const r = await call<{ organization: { id: string } | null } & Problem>(t, "/v1/me");
  if (r.status !== 200) fail("looking up your organization", r.status, r.body);
  if (!r.body.organization) throw new CliError("this credential belongs to no organization");
  return r.body.organization.id;
}

/** Registers a public key (PEM) for the credential's organization (owners only). */
export async function registerKey(
  t: Target,
  name: string,
  publicKey: string,
): Promise<PublisherKeyInfo> {
  const org = await orgId(t);
  const r = await call<PublisherKeyInfo & Problem>(t, `/v1/organizations/${org}/signing-keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, publicKey }),
  });
  if (r.status !== 201) fail("registering the key", r.status, r.body);
  return r.body;
}

export async function listKeys(t: Target): Promise<PublisherKeyInfo[]> {
  const org = await orgId(t);
  const r = await call<{ keys: PublisherKeyInfo[] } & Problem>(
    t,
    `/v1/organizations/${org}/signing-keys`,
  );
  if (r.status !== 200) fail("listing keys", r.status, r.body);
  return r.body.keys;
}

export interface Revocation {
  plugin: string;
  version: string;
  status: "revoked";
  fellBack: number;
  stopped: number;
}

/** The kill switch: revokes `version` of `plugin` (the publisher's own, or any as the operator). */
export async function revokeVersion(
  t: Target,
  plugin: string,
  version: string,
  reason: string,
): Promise<Revocation> {
  const [scope = "", name = ""] = plugin.split("/");
  const path = `/v1/plugins/${encodeURIComponent(scope)}/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/revoke`;
  const r = await call<Revocation & Problem>(t, path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ reason }),
  });
  if (r.status !== 200) fail(`revoking ${plugin}@${version}`, r.status, r.body);
  return r.body;
}
