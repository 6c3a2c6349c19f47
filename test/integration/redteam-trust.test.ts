/**
 * Red team of the trust pipeline: signing keys, signed publishing, the kill switch, platform
 * events and webhook endpoints, attacked as a non-owner admin, a member, another organization, a
 * tenant, a narrow API key and with hostile input. Every test asserts the SAFE behaviour; where
 * the platform does not hold today the test is `it.fails` with a `// HOLE:` line saying what
 * happens instead (the lead fixes those), so this file passes and lists the holes.
 */
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem, token, type Account } from "../helpers";
import { fromBase64, installPlugin, publishZip, publisher, rawPackage } from "../plugin-helpers";
import { envelopeHeader, factsOf, newKey, publishSigned, register } from "../signing-helpers";
import { invite } from "../mail-helpers";
import { saas, standin, until } from "../integration-helpers";
import { getDb } from "../../src/platform/db/client";
import {
  auditLog,
  integrationEvents,
  orgNotices,
  platformEvents,
  plugins,
  publisherKeys,
  pluginVersions,
  webhookEndpoints,
} from "../../src/platform/db/schema";
import { app } from "../../src/app";
import { fanOut } from "../../src/events/deliver";
import { deliverEvent } from "../../src/integrations/events";
import type { HostExports } from "../../src/runtime/loader-host";
import { newId, toBase64Url } from "../../src/platform/crypto/encoding";
import { forgetCachedPackages } from "../../src/runtime/packages";
import {
  DSSE_PAYLOAD_TYPE,
  bytesToBase64,
  pae,
  publishStatement,
  sha256Hex,
} from "../../src/contract/provenance";

const db = () => getDb(env.DB);
const unique = (p: string) => `${p}${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
const email = (p: string) => `${unique(p)}@example.test`;

const answer = (text: string) => `export default { fetch(req) {
  if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
  return new Response(${JSON.stringify(text)});
} };`;

/** Publishes `versions` of one plugin (each answering "v<version>"); its name. */
async function versions(a: Account, list: string[], manifest: Record<string, unknown> = {}) {
  const name = `@${a.slug}/rt-${Math.random().toString(36).slice(2, 8)}`;
  for (const version of list) {
    const res = await publishZip(
      a,
      rawPackage(a.slug, answer(`v${version}`), { name, version, ...manifest }),
    );
    expect(res.status, `publish ${version}`).toBe(201);
  }
  return name;
}

async function install(a: Account, plugin: string, version: string, grants: string[] = []) {
  const res = await installPlugin(a, { plugin, version, grants });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; endpoint: string };
}

const versionPath = (plugin: string, version: string) => {
  const [scope, short] = plugin.split("/");
  return `/v1/plugins/${scope}/${short}/versions/${encodeURIComponent(version)}`;
};

function revoke(key: string, plugin: string, version: string, json: unknown = { reason: "bad" }) {
  return call(`${versionPath(plugin, version)}/revoke`, { method: "POST", key, json });
}

async function bodyText(res: Response | Promise<Response>): Promise<string> {
  const r = await res;
  return r.status === 200 ? await r.text() : `${r.status} ${(await problem(r)).type}`;
}

async function versionRow(plugin: string, version: string) {
  const [p] = await db().select().from(plugins).where(eq(plugins.name, plugin));
  const rows = await db()
    .select()
    .from(pluginVersions)
    .where(eq(pluginVersions.pluginId, p?.id ?? ""));
  return rows.find((v) => v.version === version);
}

/** A key of `a` limited to `scopes`. */
async function narrowKey(a: Account, scopes: string[]): Promise<string> {
  const res = await call("/v1/api-keys", {
    method: "POST",
    key: a.apiKey,
    json: { name: unique("narrow"), scopes },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { key: string }).key;
}

// --- signing keys -------------------------------------------------------------------------------

describe("signing keys: who may add and revoke", { timeout: 30_000 }, () => {
  it("an admin (not an owner) can neither add nor revoke a key; a member neither; the key stays live", async () => {
    const owner = await publisher("rtsk");
    const admin = await invite(owner, email("rtadm"), "admin");
    const member = await invite(owner, email("rtmem"), "member");
    const key = await newKey();
    const keyId = await register(owner, key);
    const other = await newKey();
    for (const who of [admin.apiKey, member.apiKey]) {
      const add = await call(`/v1/organizations/${owner.orgId}/signing-keys`, {
        method: "POST",
        key: who,
        json: { name: "mine", publicKey: other.pem },
      });
      expect(add.status).toBe(403);
      const del = await call(`/v1/organizations/${owner.orgId}/signing-keys/${keyId}`, {
        method: "DELETE",
        key: who,
      });
      expect(del.status).toBe(403);
    }
    const rows = await db()
      .select()
      .from(publisherKeys)
      .where(eq(publisherKeys.orgId, owner.orgId));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.revokedAt).toBeNull();
  });

  it("an owner's key narrowed to plugins:publish cannot add a key", async () => {
    const owner = await publisher("rtsk");
    const narrow = await narrowKey(owner, ["plugins:publish"]);
    const res = await call(`/v1/organizations/${owner.orgId}/signing-keys`, {
      method: "POST",
      key: narrow,
      json: { name: "ci", publicKey: (await newKey()).pem },
    });
    expect(res.status).toBe(403);
  });

  it("a revoked key cannot be registered again to bring it back", async () => {
    const owner = await publisher("rtsk");
    const key = await newKey();
    const keyId = await register(owner, key);
    const del = await call(`/v1/organizations/${owner.orgId}/signing-keys/${keyId}`, {
      method: "DELETE",
      key: owner.apiKey,
    });
    expect(del.status).toBe(200);
    const again = await call(`/v1/organizations/${owner.orgId}/signing-keys`, {
      method: "POST",
      key: owner.apiKey,
      json: { name: "again", publicKey: key.pem },
    });
    expect(again.status).toBe(409);
    const zip = rawPackage(owner.slug, answer("x"));
    const header = await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint);
    expect((await publishSigned(owner, zip, header)).status).toBe(403);
  });

  it.each([
    ["a number as publicKey", { name: "x", publicKey: 42 }],
    ["a blank name", { name: "   ", publicKey: "PEM" }],
    ["a 101-character name", { name: "n".repeat(101), publicKey: "PEM" }],
    ["a 1001-character publicKey", { name: "x", publicKey: "A".repeat(1001) }],
    ["an extra field", { name: "x", publicKey: "PEM", orgId: "org_x" }],
    ["an array body", []],
    [
      "an RSA key",
      {
        name: "x",
        publicKey:
          "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMs0ldgJjhM2+Dq2xW0dpR3rsYRQaHRoZa5M5yR3JnWyZf9lc1yNbQfZ1xv2X+9GnxQyZqvjB5dPcz1Xb0KQ1J8CAwEAAQ==\n-----END PUBLIC KEY-----",
      },
    ],
    [
      "unicode in the PEM",
      { name: "x", publicKey: "-----BEGIN PUBLIC KEY-----\nＡＡＡＡ\n-----END PUBLIC KEY-----" },
    ],
  ])("refuses %s with a 400 problem and adds nothing", async (_what, json) => {
    const owner = await publisher("rtsk");
    const res = await call(`/v1/organizations/${owner.orgId}/signing-keys`, {
      method: "POST",
      key: owner.apiKey,
      json,
    });
    expect(res.status).toBe(400);
    await problem(res);
    const rows = await db()
      .select()
      .from(publisherKeys)
      .where(eq(publisherKeys.orgId, owner.orgId));
    expect(rows).toHaveLength(0);
  });

  it.each([
    ["an id of another kind", "whe_0123456789abcdef"],
    ["a unicode id", "pbk_ключ"],
    ["a huge id", `pbk_${"a".repeat(5000)}`],
  ])("revoking %s is a 4xx problem, never a 500", async (_what, id) => {
    const owner = await publisher("rtsk");
    const res = await call(
      `/v1/organizations/${owner.orgId}/signing-keys/${encodeURIComponent(id)}`,
      { method: "DELETE", key: owner.apiKey },
    );
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await problem(res);
  });
});

// --- signed publishing --------------------------------------------------------------------------

/** Base64 of an envelope JSON built by hand (for malformed variants). */
const b64json = (v: unknown) => bytesToBase64(new TextEncoder().encode(JSON.stringify(v)));

async function signedOrg() {
  const a = await publisher("rtsg");
  const key = await newKey();
  await register(a, key);
  return { a, key };
}

describe("signed publishing: hostile envelopes", { timeout: 30_000 }, () => {
  it("a malformed envelope of every shape is a 400 problem (never a 500) and stores nothing", async () => {
    const { a, key } = await signedOrg();
    const zip = rawPackage(a.slug, answer("x"));
    const facts = await factsOf(zip);
    const payload = new TextEncoder().encode(JSON.stringify(publishStatement(facts)));
    const sig = new Uint8Array(
      await crypto.subtle.sign("Ed25519", key.pair.privateKey, pae(DSSE_PAYLOAD_TYPE, payload)),
    );
    const good = {
      payloadType: DSSE_PAYLOAD_TYPE,
      payload: bytesToBase64(payload),
      signatures: [{ keyid: key.fingerprint, sig: bytesToBase64(sig) }],
    };
    const statement = publishStatement(facts);
    const withStatement = (s: unknown) => ({
      ...good,
      payload: bytesToBase64(new TextEncoder().encode(JSON.stringify(s))),
    });
    const variants: [string, string][] = [
      ["empty", ""],
      ["padding only", "===="],
      ["base64 of invalid UTF-8", bytesToBase64(new Uint8Array([0xff, 0xfe, 0xfd]))],
      ["a JSON array", b64json([good])],
      ["JSON null", b64json(null)],
      [
        "two signatures",
        b64json({ ...good, signatures: [good.signatures[0], good.signatures[0]] }),
      ],
      ["no signatures", b64json({ ...good, signatures: [] })],
      [
        "a short signature",
        b64json({ ...good, signatures: [{ keyid: key.fingerprint, sig: "AAAA" }] }),
      ],
      [
        "a signature that is not base64",
        b64json({ ...good, signatures: [{ keyid: key.fingerprint, sig: "!!" }] }),
      ],
      ["a payload that is not base64", b64json({ ...good, payload: "not base64!" })],
      ["a payload of JSON null", b64json(withStatement(null))],
      [
        "two subjects",
        b64json(
          withStatement({ ...statement, subject: [...statement.subject, ...statement.subject] }),
        ),
      ],
      [
        "a numeric version",
        b64json(withStatement({ ...statement, predicate: { ...statement.predicate, version: 1 } })),
      ],
      [
        "a keyid of 201 characters",
        b64json({
          ...good,
          signatures: [{ keyid: "k".repeat(201), sig: good.signatures[0]!.sig }],
        }),
      ],
      ["a header over 8 KiB", "A".repeat(8 * 1024 + 4)],
    ];
    for (const [what, header] of variants) {
      const res = await publishSigned(a, zip, header);
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      await problem(res);
    }
    // Control: the good one publishes (nothing above was half-written).
    expect((await publishSigned(a, zip, b64json(good))).status).toBe(201);
  });

  it("a statement signed for one organization's plugin cannot be published by another organization holding the same public key", async () => {
    const { a, key } = await signedOrg();
    const b = await publisher("rtsg");
    await register(b, key, "borrowed"); // a public key is public: b registers a's
    const zip = rawPackage(a.slug, answer("x"));
    const header = await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint);
    // b cannot publish a's package (outside its scope), nor rename it and reuse the statement.
    const renamed = rawPackage(b.slug, answer("x"));
    const res = await publishSigned(b, renamed, header);
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(/signature-statement-mismatch$/);
  });

  // Was a hole: a version signed only by a since-revoked key was offered to new installs.
  it("a version signed only by a since-revoked key is not installable by a new tenant", async () => {
    const { a, key } = await signedOrg();
    const name = `@${a.slug}/rt-${Math.random().toString(36).slice(2, 8)}`;
    const zip = rawPackage(a.slug, answer("signed"), { name });
    const header = await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint);
    expect((await publishSigned(a, zip, header)).status).toBe(201);
    const [k] = await db().select().from(publisherKeys).where(eq(publisherKeys.orgId, a.orgId));
    await call(`/v1/organizations/${a.orgId}/signing-keys/${k!.id}`, {
      method: "DELETE",
      key: a.apiKey,
    });
    const tenant = await publisher("rtsgt");
    const res = await installPlugin(tenant, { plugin: name, version: "1.0.0", grants: [] });
    expect(res.status).toBe(409);
    expect((await problem(res)).type).toMatch(/version-key-revoked$/);
  });
});

// --- the kill switch ----------------------------------------------------------------------------

describe("the kill switch: who may revoke", { timeout: 30_000 }, () => {
  it("a member of the publisher, a tenant running the version and a narrow key cannot revoke", async () => {
    const pub = await publisher("rtks");
    const plugin = await versions(pub, ["1.0.0"]);
    const tenant = await publisher("rtkst");
    const inst = await install(tenant, plugin, "1.0.0");
    const member = await invite(pub, email("rtksm"), "member");
    const narrow = await narrowKey(pub, ["installations:write", "plugins:call"]);
    expect((await revoke(member.apiKey, plugin, "1.0.0")).status).toBe(403);
    expect((await revoke(narrow, plugin, "1.0.0")).status).toBe(403);
    expect((await revoke(tenant.apiKey, plugin, "1.0.0")).status).toBe(404);
    expect(await bodyText(call(`${inst.endpoint}/`, { key: tenant.apiKey }))).toBe("v1.0.0");
    expect((await versionRow(plugin, "1.0.0"))?.status).toBe("published");
  });

  it.each([
    ["a reason of the wrong type", { reason: 7 }],
    ["an empty reason", { reason: "  " }],
    ["a reason of 1001 characters", { reason: "r".repeat(1001) }],
    ["an extra field", { reason: "x", fellBack: "1.0.0" }],
    ["no body fields", {}],
  ])("refuses %s with a 400 problem and revokes nothing", async (_what, json) => {
    const pub = await publisher("rtks");
    const plugin = await versions(pub, ["1.0.0"]);
    const res = await revoke(pub.apiKey, plugin, "1.0.0", json);
    expect(res.status).toBe(400);
    await problem(res);
    expect((await versionRow(plugin, "1.0.0"))?.status).toBe("published");
  });

  it.each([
    ["a 65-character version", "1".repeat(65)],
    ["a unicode version", "１.０.０"],
    ["a path-traversal version", "../../x"],
    ["a version with a NUL", "1.0.0\u0000"],
  ])("a hostile version path (%s) is a 4xx problem, never a 500", async (_what, version) => {
    const pub = await publisher("rtks");
    const plugin = await versions(pub, ["1.0.0"]);
    const res = await revoke(pub.apiKey, plugin, version);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await versionRow(plugin, "1.0.0"))?.status).toBe("published");
  });
});

describe("the kill switch: revoked code never runs again", { timeout: 40_000 }, () => {
  it("nobody can undo a revocation: not by unyank, yank, the operator's approval, or republishing the version", async () => {
    const pub = await publisher("rtks");
    const plugin = await versions(pub, ["1.0.0", "2.0.0"]);
    expect((await revoke(pub.apiKey, plugin, "2.0.0")).status).toBe(200);
    const path = versionPath(plugin, "2.0.0");
    expect((await call(`${path}/yank`, { method: "DELETE", key: pub.apiKey })).status).toBe(409);
    expect((await call(`${path}/yank`, { method: "POST", key: pub.apiKey })).status).toBe(409);
    const row = await versionRow(plugin, "2.0.0");
    const approve = await call(`/v1/operator/versions/${row!.id}/decision`, {
      method: "POST",
      key: OPERATOR_KEY,
      json: { decision: "approve" },
    });
    expect(approve.status).toBe(409);
    const again = await publishZip(
      pub,
      rawPackage(pub.slug, answer("v2 again"), { name: plugin, version: "2.0.0" }),
    );
    expect(again.status).toBe(409);
    expect((await versionRow(plugin, "2.0.0"))?.status).toBe("revoked");
  });

  it("a new tenant cannot install the revoked version, by name or as latest; latest is the previous good one", async () => {
    const pub = await publisher("rtks");
    const plugin = await versions(pub, ["1.0.0", "2.0.0"]);
    expect((await revoke(pub.apiKey, plugin, "2.0.0")).status).toBe(200);
    const tenant = await publisher("rtkst");
    const named = await installPlugin(tenant, { plugin, version: "2.0.0", grants: [] });
    expect(named.status).toBe(404);
    const latest = await installPlugin(tenant, { plugin, grants: [] });
    expect(latest.status).toBe(201);
    const got = (await latest.json()) as { version: string; endpoint: string };
    expect(got.version).toBe("1.0.0");
    expect(await bodyText(call(`${got.endpoint}/`, { key: tenant.apiKey }))).toBe("v1.0.0");
  });

  it("an installation whose previous version is itself revoked is stopped, not moved back to it", async () => {
    const pub = await publisher("rtks");
    const plugin = await versions(pub, ["1.0.0", "2.0.0"]);
    const tenant = await publisher("rtkst");
    const inst = await install(tenant, plugin, "1.0.0");
    const up = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: tenant.apiKey,
      json: { version: "2.0.0" },
    });
    expect(up.status).toBe(200);
    expect((await revoke(pub.apiKey, plugin, "1.0.0")).status).toBe(200);
    const res = await revoke(pub.apiKey, plugin, "2.0.0");
    expect(await res.json()).toMatchObject({ fellBack: 0, stopped: 1 });
    expect(await bodyText(call(`${inst.endpoint}/`, { key: tenant.apiKey }))).toMatch(
      /^503 .*version-revoked$/,
    );
    const exec = await call(`/v1/installations/${inst.id}/execute`, {
      method: "POST",
      key: tenant.apiKey,
      json: { input: {} },
    });
    expect(exec.status).toBe(503);
    // Nor can the tenant move back onto either revoked version.
    for (const version of ["1.0.0", "2.0.0"]) {
      const back = await call(`/v1/installations/${inst.id}`, {
        method: "PATCH",
        key: tenant.apiKey,
        json: { version },
      });
      expect(back.status).toBe(404);
    }
  });

  it("the fallback's grants are cut to what the earlier version declares", async () => {
    const pub = await publisher("rtks");
    const name = `@${pub.slug}/rt-${Math.random().toString(36).slice(2, 8)}`;
    for (const [version, permissions] of [
      ["1.0.0", ["storage"]],
      ["2.0.0", ["storage", "network:api.example.com"]],
    ] as const) {
      const res = await publishZip(
        pub,
        rawPackage(pub.slug, answer(`v${version}`), { name, version, permissions }),
      );
      expect(res.status).toBe(201);
    }
    const tenant = await publisher("rtkst");
    const inst = await install(tenant, name, "1.0.0", ["storage"]);
    const up = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: tenant.apiKey,
      json: { version: "2.0.0", grants: ["storage", "network:api.example.com"] },
    });
    expect(up.status).toBe(200);
    expect((await revoke(pub.apiKey, name, "2.0.0")).status).toBe(200);
    const got = (await (
      await call(`/v1/installations/${inst.id}`, { key: tenant.apiKey })
    ).json()) as { version: string; grants: { permission: string }[] };
    expect(got.version).toBe("1.0.0");
    expect(got.grants.map((g) => g.permission)).toEqual(["storage"]);
  });

  // HOLE: two concurrent revocations of one version both answer 200; each writes its notices and audit entry (the tenant is told twice, the log shows two revocations).
  it.fails(
    "two concurrent revocations of one version: one succeeds, the other is a 409",
    async () => {
      const pub = await publisher("rtks");
      const plugin = await versions(pub, ["1.0.0"]);
      const tenant = await publisher("rtkst");
      await install(tenant, plugin, "1.0.0");
      const [x, y] = await Promise.all([
        revoke(pub.apiKey, plugin, "1.0.0", { reason: "first" }),
        revoke(OPERATOR_KEY, plugin, "1.0.0", { reason: "second" }),
      ]);
      expect([x.status, y.status].sort()).toEqual([200, 409]);
      const notices = await db()
        .select()
        .from(orgNotices)
        .where(eq(orgNotices.orgId, tenant.orgId));
      expect(notices).toHaveLength(1);
    },
  );
});

// --- platform events to plugins ----------------------------------------------------------------

describe("platform events to a halted installation", { timeout: 30_000 }, () => {
  // Was a hole (fixed with this test): fan-out counted a halted installation's 503 as a failed
  // delivery, so the whole event message was retried until the queue gave up.
  it("an installation on a revoked version granted events:<topic> is skipped, not reported for a retry", async () => {
    const pub = await publisher("rtev");
    const plugin = await versions(pub, ["1.0.0"], { permissions: ["events:version.published"] });
    const tenant = await publisher("rtevt");
    await install(tenant, plugin, "1.0.0", ["events:version.published"]);
    expect((await revoke(pub.apiKey, plugin, "1.0.0")).status).toBe(200);
    // Recorded only (not queued): the test drives the fan-out itself.
    const id = newId("pev");
    await db()
      .insert(platformEvents)
      .values({
        id,
        topic: "version.published",
        orgIds: [tenant.orgId],
        environment: null,
        payload: JSON.stringify({ version: { plugin: "@x/y", version: "1.0.0", sha256: "0" } }),
        createdAt: Date.now(),
        dispatchedAt: Date.now(),
      });
    const report = await fanOut(env, () => exports as unknown as HostExports, id);
    expect(report.failed).toEqual([]);
  });
});

// --- webhook endpoints --------------------------------------------------------------------------

async function endpoint(a: Account, url = "https://hooks.example.com/atoll") {
  const res = await call("/v1/webhook-endpoints", {
    method: "POST",
    key: a.apiKey,
    json: { url, topics: ["installation.created"] },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; secret: string; url: string };
}

describe("webhook endpoints: who may", { timeout: 30_000 }, () => {
  it("a member can neither register, list, rotate, replay nor delete", async () => {
    const owner = await publisher("rtwh");
    const member = await invite(owner, email("rtwhm"), "member");
    const e = await endpoint(owner);
    const base = `/v1/webhook-endpoints/${e.id}`;
    for (const [method, path, json] of [
      [
        "POST",
        "/v1/webhook-endpoints",
        { url: "https://x.example.com/", topics: ["installation.created"] },
      ],
      ["GET", "/v1/webhook-endpoints", undefined],
      ["GET", base, undefined],
      ["PATCH", base, { url: "https://attacker.example.com/" }],
      ["POST", `${base}/rotate-secret`, {}],
      ["GET", `${base}/deliveries`, undefined],
      ["DELETE", base, undefined],
    ] as const) {
      const res = await call(path, {
        method,
        key: member.apiKey,
        ...(json !== undefined ? { json } : {}),
      });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    const [row] = await db().select().from(webhookEndpoints).where(eq(webhookEndpoints.id, e.id));
    expect(row?.url).toBe(e.url);
  });

  it("the operator key is refused with a problem (it has no organization), not a 500", async () => {
    const res = await call("/v1/webhook-endpoints", { key: OPERATOR_KEY });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await problem(res);
  });
});

describe("webhook endpoints: SSRF through a change of URL", { timeout: 30_000 }, () => {
  it.each([
    ["a private address in decimal", "https://167772161/hook"],
    ["a private address in hex", "https://0xa000001/hook"],
    ["a short private address", "https://10.1/hook"],
    ["a unique-local IPv6 address", "https://[fd00::1]/hook"],
    ["an IPv4-mapped private IPv6 address", "https://[::ffff:a00:1]/hook"],
    ["link-local IPv6", "https://[fe80::1]/hook"],
    ["the metadata address", "https://169.254.169.254/latest/meta-data/"],
    ["a full-width private address", "https://１０.０.０.１/hook"],
    ["a percent-encoded private address", "https://%31%30.0.0.1/hook"],
    ["a .localhost name", "https://api.localhost/hook"],
    ["a wildcard-DNS name for a private address", "https://10.0.0.1.sslip.io/hook"],
    ["a .internal name", "https://metadata.google.internal/"],
    ["credentials", "https://a:b@hooks.example.com/"],
    ["a non-default port", "https://hooks.example.com:8443/"],
    ["a single-label name", "https://intranet/"],
  ])("PATCH to %s is a 400 and the stored URL is unchanged", async (_what, url) => {
    const a = await publisher("rtwhs");
    const e = await endpoint(a);
    const res = await call(`/v1/webhook-endpoints/${e.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { url },
    });
    expect(res.status).toBe(400);
    await problem(res);
    const [row] = await db().select().from(webhookEndpoints).where(eq(webhookEndpoints.id, e.id));
    expect(row?.url).toBe(e.url);
  });
});

describe("webhook endpoints: hostile input", { timeout: 30_000 }, () => {
  it("every hostile body, query and id is a 4xx problem, never a 500, and changes nothing", async () => {
    const a = await publisher("rtwhh");
    const e = await endpoint(a);
    const base = `/v1/webhook-endpoints/${e.id}`;
    const cases: [string, string, unknown][] = [
      ["PATCH", base, { topics: "installation.created" }],
      ["PATCH", base, { topics: ["installation.created", "nope"] }],
      ["PATCH", base, { description: 5 }],
      ["PATCH", base, { description: "d".repeat(201) }],
      ["PATCH", base, { enabled: "true" }],
      ["PATCH", base, { status: "enabled" }],
      ["PATCH", base, { secret: "whsec_mine" }],
      ["PATCH", base, { url: 123 }],
      ["PATCH", base, { url: `https://hooks.example.com/${"é".repeat(3000)}` }],
      ["POST", `${base}/rotate-secret`, { graceSeconds: -1 }],
      ["POST", `${base}/rotate-secret`, { graceSeconds: 1.5 }],
      ["POST", `${base}/rotate-secret`, { graceSeconds: "60" }],
      ["POST", `${base}/rotate-secret`, { graceSeconds: 7 * 24 * 3600 + 1 }],
      ["POST", `${base}/rotate-secret`, { graceSeconds: 1e308 }],
      ["GET", `${base}/deliveries?limit=abc`, undefined],
      ["GET", `${base}/deliveries?limit=1000000`, undefined],
      ["GET", `${base}/deliveries?limit=0`, undefined],
      ["GET", `${base}/deliveries?before=-1`, undefined],
      ["GET", `${base}/deliveries?before=1e400`, undefined],
      ["GET", `${base}/deliveries?status=all`, undefined],
      ["GET", "/v1/webhook-endpoints/ins_0123456789", undefined],
      ["GET", `/v1/webhook-endpoints/whe_${"a".repeat(3000)}`, undefined],
      ["GET", `/v1/webhook-endpoints/${encodeURIComponent("whe_ü'--")}`, undefined],
      ["POST", `${base}/deliveries/ins_0123456789/replay`, undefined],
      ["POST", `${base}/deliveries/whd_doesnotexist/replay`, undefined],
    ];
    for (const [method, path, json] of cases) {
      const res = await call(path, {
        method,
        key: a.apiKey,
        ...(json !== undefined ? { json } : {}),
      });
      expect(
        res.status,
        `${method} ${path.slice(0, 80)} ${JSON.stringify(json)?.slice(0, 60)}`,
      ).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path.slice(0, 80)}`).toBeLessThan(500);
      await problem(res);
    }
    const [row] = await db().select().from(webhookEndpoints).where(eq(webhookEndpoints.id, e.id));
    expect(row).toMatchObject({
      url: e.url,
      description: "",
      status: "enabled",
      previousSecretEnc: null,
    });
  });

  // HOLE: the 20-endpoint cap is a count read before the insert; concurrent registrations pass it together.
  it.fails("concurrent registrations cannot exceed the 20-endpoint cap", async () => {
    const a = await publisher("rtwhc");
    for (let i = 0; i < 18; i++) await endpoint(a, `https://hooks.example.com/${i}`);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call("/v1/webhook-endpoints", {
          method: "POST",
          key: a.apiKey,
          json: { url: `https://hooks.example.com/c${i}`, topics: ["installation.created"] },
        }),
      ),
    );
    const n = await db().$count(webhookEndpoints, eq(webhookEndpoints.orgId, a.orgId));
    expect(n).toBeLessThanOrEqual(20);
  });
});

describe("webhook endpoints: secrets are never readable again", { timeout: 30_000 }, () => {
  it("neither the new nor the old secret appears in the list, the read, the audit log or the delivery log after a rotation", async () => {
    const a = await publisher("rtwhk");
    const e = await endpoint(a);
    const rotated = await call(`/v1/webhook-endpoints/${e.id}/rotate-secret`, {
      method: "POST",
      key: a.apiKey,
      json: { graceSeconds: 3600 },
    });
    expect(rotated.status).toBe(200);
    const fresh = ((await rotated.json()) as { secret: string }).secret;
    expect(fresh).not.toBe(e.secret);
    const texts = await Promise.all(
      [
        "/v1/webhook-endpoints",
        `/v1/webhook-endpoints/${e.id}`,
        `/v1/webhook-endpoints/${e.id}/deliveries`,
        `/v1/organizations/${a.orgId}/audit-log`,
      ].map(async (p) => {
        const r = await call(p, { key: a.apiKey });
        expect(r.status, p).toBe(200);
        return r.text();
      }),
    );
    for (const t of texts) {
      expect(t).not.toContain(e.secret);
      expect(t).not.toContain(fresh);
      expect(t).not.toContain("whsec_");
    }
    const audit = await db().select().from(auditLog).where(eq(auditLog.orgId, a.orgId));
    expect(JSON.stringify(audit)).not.toContain("whsec_");
  });
});

// --- what an event tells whom -------------------------------------------------------------------

interface Received {
  raw: string;
  headers: Record<string, string>;
  verified: boolean | null;
}

describe("event payloads: what the publisher learns about a tenant", { timeout: 40_000 }, () => {
  it("installation.created reaches the publisher's endpoint without the tenant's config, secrets or grants' values", async () => {
    const pub = await publisher("rtep");
    const name = `@${pub.slug}/rt-${Math.random().toString(36).slice(2, 8)}`;
    const res = await publishZip(
      pub,
      rawPackage(pub.slug, answer("x"), {
        name,
        permissions: ["secrets:API_TOKEN"],
        config: {
          type: "object",
          properties: { region: { type: "string" }, password: { type: "string", writeOnly: true } },
        },
      }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    const hook = `rt${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
    const reg = await call("/v1/webhook-endpoints", {
      method: "POST",
      key: pub.apiKey,
      json: { url: `${saas()}/receiver/${hook}`, topics: ["installation.created"] },
    });
    expect(reg.status).toBe(201);
    const { secret } = (await reg.json()) as { secret: string };
    await standin("/__standin/receiver/secrets", { name: hook, secret });
    const tenant = await publisher("rtept");
    const inst = await installPlugin(tenant, {
      plugin: name,
      grants: ["secrets:API_TOKEN"],
      secrets: { API_TOKEN: "tok_TENANT_SECRET_VALUE" },
      config: { region: "eu-TENANT-REGION", password: "pw_TENANT_PASSWORD" },
    });
    expect(inst.status, await inst.clone().text()).toBe(201);
    const got = await until(async () => {
      const r = await standin<{ deliveries: Received[] }>(`/__standin/receiver/${hook}`);
      return r.deliveries.length > 0 ? r.deliveries : null;
    }, 10_000);
    expect(got[0]!.verified).toBe(true);
    const raw = got[0]!.raw;
    expect(raw).toContain(tenant.orgId);
    for (const secretish of ["tok_TENANT_SECRET_VALUE", "pw_TENANT_PASSWORD", "eu-TENANT-REGION"])
      expect(raw).not.toContain(secretish);
  });
});

// --- round two ----------------------------------------------------------------------------------

describe("the kill switch's fallback after a reconfiguration", { timeout: 30_000 }, () => {
  // Was a hole (fixed with this test): the fallback took the fromVersion of the newest history
  // event to the revoked version, and a reconfiguration (2.0.0 to 2.0.0) hid the upgrade.
  it("an installation upgraded to 2.0.0 and then reconfigured still falls back to 1.0.0", async () => {
    const pub = await publisher("rtkr");
    const name = `@${pub.slug}/rt-${Math.random().toString(36).slice(2, 8)}`;
    const config = { type: "object", properties: { region: { type: "string" } } };
    for (const version of ["1.0.0", "2.0.0"]) {
      const res = await publishZip(
        pub,
        rawPackage(pub.slug, answer(`v${version}`), { name, version, config }),
      );
      expect(res.status).toBe(201);
    }
    const tenant = await publisher("rtkrt");
    const inst = await install(tenant, name, "1.0.0");
    for (const json of [{ version: "2.0.0" }, { config: { region: "eu" } }]) {
      const res = await call(`/v1/installations/${inst.id}`, {
        method: "PATCH",
        key: tenant.apiKey,
        json,
      });
      expect(res.status, JSON.stringify(json)).toBe(200);
    }
    const res = await revoke(pub.apiKey, name, "2.0.0");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ fellBack: 1, stopped: 0 });
    expect(await bodyText(call(`${inst.endpoint}/`, { key: tenant.apiKey }))).toBe("v1.0.0");
  });
});

describe("signing keys: an organization's key list", { timeout: 60_000 }, () => {
  // Was a hole: the 101st key registered, then never verified (publish checked only 100); now capped.
  it("a key that was registered is one that verifies (or registration is capped)", async () => {
    const a = await publisher("rtkl");
    let last: Awaited<ReturnType<typeof newKey>> | null = null;
    let registered = 0;
    for (let i = 0; i < 101; i++) {
      const k = await newKey();
      const res = await call(`/v1/organizations/${a.orgId}/signing-keys`, {
        method: "POST",
        key: a.apiKey,
        json: { name: `k${i}`, publicKey: k.pem },
      });
      if (res.status !== 201) break;
      registered += 1;
      last = k;
    }
    if (registered <= 100) return; // a cap: the last registered key is within the checked list
    const zip = rawPackage(a.slug, answer("x"));
    const header = await envelopeHeader(
      await factsOf(zip),
      last!.pair.privateKey,
      last!.fingerprint,
    );
    expect((await publishSigned(a, zip, header)).status).toBe(201);
  });
});

const GOOD = answer("good");
const EVIL = answer("evil");

/** Publishes GOOD signed; its plugin, hash and the publisher's key. */
async function signedGood(a: Account) {
  const key = await newKey();
  await register(a, key, unique("k"));
  const zip = rawPackage(a.slug, GOOD);
  const res = await publishSigned(
    a,
    zip,
    await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { plugin: string; sha256: string };
}

/** EVIL's zip in R2 and its hash (as provenance.test.ts's attacker: storage is tampered). */
async function evilInR2(a: Account) {
  const evil = rawPackage(a.slug, EVIL);
  const evilSha = await sha256Hex(evil);
  await env.PACKAGES.put(`packages/sha256/${evilSha}.zip`, evil);
  return { evil, evilSha };
}

describe(
  "provenance at load, against the attacker of provenance.test.ts (R2 and the recorded hash tampered)",
  { timeout: 30_000 },
  () => {
    // Was a hole: clearing the provenance in the same UPDATE that swapped sha256 ran the bytes as unsigned.
    it("a signed version whose provenance record was removed does not run other bytes", async () => {
      const a = await publisher("rtpv");
      const pub = await signedGood(a);
      const { evilSha } = await evilInR2(a);
      await env.DB.prepare(
        "UPDATE plugin_versions SET sha256 = ?, provenance = NULL WHERE sha256 = ?",
      )
        .bind(evilSha, pub.sha256)
        .run();
      forgetCachedPackages();
      const res = await installPlugin(a, { plugin: pub.plugin, grants: [] });
      expect(res.status).toBe(502);
    });

    // HOLE (documented limit, trust-model.md "What it does not cover"): the stored provenance carries its own public key and the runtime verifies against that, not against the publisher's registered key (signer_key_id): a record re-signed with any key passes.
    it.fails(
      "a provenance record re-signed with a key that is not the publisher's does not run",
      async () => {
        const a = await publisher("rtpv");
        const pub = await signedGood(a);
        const { evil, evilSha } = await evilInR2(a);
        const rogue = await newKey();
        const header = await envelopeHeader(
          await factsOf(evil),
          rogue.pair.privateKey,
          rogue.fingerprint,
        );
        const envelope = JSON.parse(new TextDecoder().decode(fromBase64(header))) as unknown;
        const raw = new Uint8Array(
          (await crypto.subtle.exportKey("raw", rogue.pair.publicKey)) as ArrayBuffer,
        );
        const provenance = JSON.stringify({ envelope, publicKey: toBase64Url(raw) });
        await env.DB.prepare(
          "UPDATE plugin_versions SET sha256 = ?, provenance = ? WHERE sha256 = ?",
        )
          .bind(evilSha, provenance, pub.sha256)
          .run();
        forgetCachedPackages();
        const res = await installPlugin(a, { plugin: pub.plugin, grants: [] });
        expect(res.status).toBe(502);
      },
    );
  },
);

// --- round three --------------------------------------------------------------------------------

interface Delivered {
  raw: string;
  verified: boolean | null;
}

/** A receiver at the SaaS stand-in that knows the endpoint's secret, for `topics`. */
async function receiver(a: Account, topics: string[]) {
  const name = unique("rtr");
  const res = await call("/v1/webhook-endpoints", {
    method: "POST",
    key: a.apiKey,
    json: { url: `${saas()}/receiver/${name}`, topics },
  });
  expect(res.status).toBe(201);
  const { secret } = (await res.json()) as { secret: string };
  await standin("/__standin/receiver/secrets", { name, secret });
  return async () =>
    (await standin<{ deliveries: Delivered[] }>(`/__standin/receiver/${name}`)).deliveries;
}

describe("the kill switch's events", { timeout: 40_000 }, () => {
  // Held since the lead's change: the revoke route emits no platform event at all; the lead's new code emits version.revoked and installation.updated — this test then checks that each tenant hears of it and learns nothing of the other tenant.
  it("each tenant running the version hears version.revoked; neither learns the other's organization or installation", async () => {
    const pub = await publisher("rtke");
    const plugin = await versions(pub, ["1.0.0", "2.0.0"]);
    const a = await publisher("rtkea");
    const b = await publisher("rtkeb");
    const bystander = await publisher("rtkex");
    const topics = ["version.revoked", "installation.updated"];
    const [heardA, heardB, heardX] = [
      await receiver(a, topics),
      await receiver(b, topics),
      await receiver(bystander, topics),
    ];
    const ia = await install(a, plugin, "1.0.0");
    expect(
      (
        await call(`/v1/installations/${ia.id}`, {
          method: "PATCH",
          key: a.apiKey,
          json: { version: "2.0.0" },
        })
      ).status,
    ).toBe(200);
    const ib = await install(b, plugin, "2.0.0");
    expect((await revoke(pub.apiKey, plugin, "2.0.0")).status).toBe(200);
    const revokedTo = async (heard: () => Promise<Delivered[]>) =>
      until(async () => {
        const d = await heard();
        return d.some((x) => x.raw.includes('"version.revoked"')) ? d : null;
      }, 10_000);
    const [gotA, gotB] = [await revokedTo(heardA), await revokedTo(heardB)];
    for (const d of [...gotA, ...gotB]) expect(d.verified).toBe(true);
    const rawA = gotA.map((d) => d.raw).join("\n");
    const rawB = gotB.map((d) => d.raw).join("\n");
    expect(rawA).not.toContain(b.orgId);
    expect(rawA).not.toContain(ib.id);
    expect(rawB).not.toContain(a.orgId);
    expect(rawB).not.toContain(ia.id);
    expect(await heardX()).toHaveLength(0);
  });
});

describe("a tenant running a yanked version", { timeout: 30_000 }, () => {
  // Was a hole (fixed with this test): PATCH without a version re-validated the current version
  // as a target, which had to be published, so a tenant on a yanked version (kept running by
  // design, or put there by the kill switch's fallback) could not rotate a leaked secret (404).
  it("can still rotate a secret of its installation", async () => {
    const pub = await publisher("rtyk");
    const name = `@${pub.slug}/rt-${Math.random().toString(36).slice(2, 8)}`;
    const res = await publishZip(
      pub,
      rawPackage(pub.slug, answer("x"), { name, permissions: ["secrets:API_TOKEN"] }),
    );
    expect(res.status).toBe(201);
    const tenant = await publisher("rtykt");
    const inst = await installPlugin(tenant, {
      plugin: name,
      grants: ["secrets:API_TOKEN"],
      secrets: { API_TOKEN: "tok_leaked" },
    });
    expect(inst.status).toBe(201);
    const { id } = (await inst.json()) as { id: string };
    expect(
      (await call(`${versionPath(name, "1.0.0")}/yank`, { method: "POST", key: pub.apiKey }))
        .status,
    ).toBe(200);
    const rotate = await call(`/v1/installations/${id}`, {
      method: "PATCH",
      key: tenant.apiKey,
      json: { secrets: { API_TOKEN: "tok_fresh" } },
    });
    expect(rotate.status).toBe(200);
    // It stays where it was; moving onto a yanked version from another one is still refused.
    expect(((await rotate.json()) as { version: string }).version).toBe("1.0.0");
  });
});

describe("the operator's signature requirement and the review queue", { timeout: 30_000 }, () => {
  // Was a hole: an unsigned version waiting in review was approved after signatures became required.
  it("approving an unsigned version of a publisher that must sign is refused", async () => {
    const pub = await publisher("rtrq");
    const plugin = await versions(pub, ["1.0.0"]);
    // As if submitted before the requirement, under ATOLL_AUTO_APPROVE=false (the review queue).
    const row = await versionRow(plugin, "1.0.0");
    await db()
      .update(pluginVersions)
      .set({ status: "in_review" })
      .where(eq(pluginVersions.id, row!.id));
    const req = await call(`/v1/operator/organizations/${pub.orgId}/signature-requirement`, {
      method: "PUT",
      key: OPERATOR_KEY,
      json: { required: true },
    });
    expect(req.status).toBe(200);
    const approve = await call(`/v1/operator/versions/${row!.id}/decision`, {
      method: "POST",
      key: OPERATOR_KEY,
      json: { decision: "approve" },
    });
    expect(approve.status).toBe(409);
    expect((await problem(approve)).type).toMatch(/signature-required$/);
    expect((await versionRow(plugin, "1.0.0"))?.status).toBe("in_review");
  });
});

const executes = (text: string) => `export default { async fetch(req) {
  const path = new URL(req.url).pathname;
  if (path === "/__atoll/execute") return Response.json({ output: ${JSON.stringify(text)} });
  if (path.startsWith("/__atoll/")) return new Response(null, { status: 404 });
  return new Response(${JSON.stringify(text)});
} };`;

/** A gateway with its own isolate state, as kill-switch.test.ts builds them (own D1 object: own caches). */
function gateway() {
  const dbProxy = new Proxy(env.DB, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const e = { ...env, DB: dbProxy };
  const ctx = { exports, waitUntil() {}, passThroughOnException() {}, props: {} };
  return (installationId: string, key: string) =>
    app.request(
      new Request(`http://atoll.test/v1/installations/${installationId}/execute`, {
        method: "POST",
        headers: {
          "x-api-key": key,
          "cf-connecting-ip": "10.9.9.8",
          "content-type": "application/json",
        },
        body: JSON.stringify({ input: {} }),
      }),
      undefined,
      e,
      ctx as unknown as ExecutionContext,
    );
}

describe("the kill switch on execute", { timeout: 40_000 }, () => {
  // Held since the lead's change: execute runs from the isolate's cached spec and takes no lease, so another isolate keeps executing the revoked version for up to the spec cache's 10 s (the lead's new code takes the installation's lease on execute).
  it("every isolate stops executing a revoked version within the lease time", async () => {
    const pub = await publisher("rtkx");
    const name = `@${pub.slug}/rt-${Math.random().toString(36).slice(2, 8)}`;
    const res = await publishZip(pub, rawPackage(pub.slug, executes("v1"), { name }));
    expect(res.status).toBe(201);
    const tenant = await publisher("rtkxt");
    const inst = await install(tenant, name, "1.0.0");
    const isolates = [gateway(), gateway()];
    for (const gw of isolates) expect((await gw(inst.id, tenant.apiKey)).status).toBe(200);
    const started = Date.now();
    expect((await revoke(pub.apiKey, name, "1.0.0")).status).toBe(200);
    for (const gw of isolates) {
      for (;;) {
        const r = await gw(inst.id, tenant.apiKey);
        await r.body?.cancel();
        if (r.status === 503) break;
        expect(Date.now() - started).toBeLessThan(3_000);
        await new Promise((done) => setTimeout(done, 100));
      }
    }
  });
});

describe("webhook endpoints: wildcard-DNS names that spell loopback", { timeout: 30_000 }, () => {
  // Was a hole (a denylist, so never complete): these wildcard and rebinding names were accepted.
  it.each([
    ["localhost.direct", "https://app.localhost.direct/hook"],
    ["local.gd", "https://x.local.gd/hook"],
    ["1u.ms", "https://make-127.0.0.1-rr.1u.ms/hook"],
  ])("refuses %s", async (_what, url) => {
    const a = await publisher("rtwd");
    const res = await call("/v1/webhook-endpoints", {
      method: "POST",
      key: a.apiKey,
      json: { url, topics: ["installation.created"] },
    });
    expect(res.status).toBe(400);
  });
});

describe("the operator's signature requirement: hostile input", { timeout: 30_000 }, () => {
  it("is the operator's only: an owner cannot lift its own organization's requirement", async () => {
    const a = await publisher("rtrh");
    for (const [path, json] of [
      [`/v1/operator/organizations/${a.orgId}/signature-requirement`, { required: false }],
      ["/v1/operator/signature-requirement", { plans: [] }],
    ] as const) {
      const res = await call(path, { method: "PUT", key: a.apiKey, json });
      expect(res.status, path).toBe(403);
    }
  });

  it.each([
    ["a string", { required: "true" }],
    ["an extra field", { required: true, orgId: "org_x" }],
    ["no field", {}],
  ])("refuses %s for a publisher's requirement with a 400", async (_what, json) => {
    const a = await publisher("rtrh");
    const res = await call(`/v1/operator/organizations/${a.orgId}/signature-requirement`, {
      method: "PUT",
      key: OPERATOR_KEY,
      json,
    });
    expect(res.status).toBe(400);
    await problem(res);
  });

  it.each([
    ["an unknown plan", { plans: ["platinum"] }],
    ["a plan list of the wrong type", { plans: "pro" }],
    ["four plans", { plans: ["free", "pro", "enterprise", "pro"] }],
  ])("refuses %s for the plans' requirement with a 400", async (_what, json) => {
    const res = await call("/v1/operator/signature-requirement", {
      method: "PUT",
      key: OPERATOR_KEY,
      json,
    });
    expect(res.status).toBe(400);
    await problem(res);
  });

  // Was a hole: the 404 for an unknown organization came after its audit entry was written.
  it("an organization that does not exist is a 404 and nothing is written", async () => {
    const ghost = newId("org");
    const res = await call(`/v1/operator/organizations/${ghost}/signature-requirement`, {
      method: "PUT",
      key: OPERATOR_KEY,
      json: { required: true },
    });
    expect(res.status).toBe(404);
    const audit = await db().select().from(auditLog).where(eq(auditLog.orgId, ghost));
    expect(audit).toHaveLength(0);
  });
});

describe("webhook replay", { timeout: 30_000 }, () => {
  it("sends exactly the recorded event again, whatever body the caller sends with the replay", async () => {
    const a = await publisher("rtrp");
    const heard = await receiver(a, ["version.published"]);
    const pub = await publishZip(a, rawPackage(a.slug, answer("x")));
    expect(pub.status).toBe(201);
    const [first] = await until(async () => {
      const d = await heard();
      return d.length > 0 ? d : null;
    }, 10_000);
    const [endpointRow] = await db()
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.orgId, a.orgId));
    const log = (await (
      await call(`/v1/webhook-endpoints/${endpointRow!.id}/deliveries`, { key: a.apiKey })
    ).json()) as { deliveries: { id: string; eventId: string }[] };
    const original = log.deliveries[0]!;
    const replay = await call(
      `/v1/webhook-endpoints/${endpointRow!.id}/deliveries/${original.id}/replay`,
      {
        method: "POST",
        key: a.apiKey,
        json: {
          url: "https://attacker.example.com/",
          payload: { forged: true },
          eventId: "pev_forged",
        },
      },
    );
    // The body is not read: the replay is of the recorded event, to the endpoint's own URL.
    expect(replay.status).toBe(202);
    const both = await until(async () => {
      const d = await heard();
      return d.length > 1 ? d : null;
    }, 10_000);
    const original_ = JSON.parse(first!.raw) as { id: string; payload: unknown };
    const again = JSON.parse(both[1]!.raw) as { id: string; payload: unknown };
    expect(again).toEqual(original_);
    expect(both[1]!.raw).not.toContain("forged");
    expect(both[1]!.verified).toBe(true);
  });
});

describe("provider events to a halted installation", { timeout: 30_000 }, () => {
  // Was a hole (fixed with this test): as for platform events, a revoked installation's 503 was
  // a failed delivery, retried until the queue gave up.
  it("an installation on a revoked version granted events:<provider topic> is skipped, not retried", async () => {
    const pub = await publisher("rtpe");
    const plugin = await versions(pub, ["1.0.0"], { permissions: ["events:slack.message"] });
    const tenant = await publisher("rtpet");
    await install(tenant, plugin, "1.0.0", ["events:slack.message"]);
    expect((await revoke(pub.apiKey, plugin, "1.0.0")).status).toBe(200);
    const id = newId("iev");
    await db()
      .insert(integrationEvents)
      .values({
        id,
        orgId: tenant.orgId,
        environment: "development",
        connectionId: null,
        topic: "slack.message",
        payload: JSON.stringify({ text: "hi" }),
        createdAt: Date.now(),
      });
    const report = await deliverEvent(env, () => exports as unknown as HostExports, id, false);
    expect(report.failed).toEqual([]);
    expect(report.delivered).toEqual([]);
  });
});

describe("kill switch and notices: more callers and ids", { timeout: 30_000 }, () => {
  it("an access token narrowed to installations:read cannot revoke", async () => {
    const pub = await publisher("rtkt");
    const plugin = await versions(pub, ["1.0.0"]);
    const narrow = await token(pub, "installations:read");
    const res = await call(`${versionPath(plugin, "1.0.0")}/revoke`, {
      method: "POST",
      token: narrow,
      json: { reason: "x" },
    });
    expect(res.status).toBe(403);
    expect((await versionRow(plugin, "1.0.0"))?.status).toBe("published");
  });

  it.each([
    ["a unicode scope", "/v1/plugins/@ключ/x/versions/1.0.0/revoke"],
    ["a huge name", `/v1/plugins/@a/${"n".repeat(5000)}/versions/1.0.0/revoke`],
    ["an encoded slash in the name", "/v1/plugins/@a/b%2Fc/versions/1.0.0/revoke"],
    ["no @ in the scope", "/v1/plugins/a/b/versions/1.0.0/revoke"],
  ])("a hostile listing path (%s) is a 4xx problem", async (_what, path) => {
    const pub = await publisher("rtkt");
    const res = await call(path, { method: "POST", key: pub.apiKey, json: { reason: "x" } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it("another organization's notices are 404; an id of another kind is a 4xx", async () => {
    const a = await publisher("rtkn");
    const b = await publisher("rtkn");
    expect((await call(`/v1/organizations/${a.orgId}/notices`, { key: b.apiKey })).status).toBe(
      404,
    );
    const wrong = await call("/v1/organizations/ins_0123456789/notices", { key: a.apiKey });
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    expect(wrong.status).toBeLessThan(500);
  });
});
