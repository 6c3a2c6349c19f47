/**
 * Publisher signing keys and signed publishing: the hostile cases first (forged signatures, a
 * statement about another package, a revoked key, another organization's key, a statement
 * replayed for another name or version), then the operator's requirement and what the API shows.
 */
import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem, signup } from "../helpers";
import { rawPackage, publishZip } from "../plugin-helpers";
import { invite } from "../mail-helpers";
import { envelopeHeader, factsOf, newKey, publishSigned, register } from "../signing-helpers";

const src = "export default { fetch() { return new Response('ok'); } };";

async function signedSetup() {
  const a = await signup("sg");
  const key = await newKey();
  const keyId = await register(a, key);
  return { a, key, keyId };
}

describe("POST /v1/packages with a signature (hostile)", () => {
  it("refuses a forged signature: another key's signature under the registered key's id", async () => {
    const { a, key } = await signedSetup();
    const forger = await newKey();
    const zip = rawPackage(a.slug, src);
    const res = await publishSigned(
      a,
      zip,
      await envelopeHeader(await factsOf(zip), forger.pair.privateKey, key.fingerprint),
    );
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.type).toMatch(/signature-invalid$/);
    expect(p.detail).toContain(key.fingerprint);
  });

  it("refuses a statement whose payload was changed after signing", async () => {
    const { a, key } = await signedSetup();
    const zip = rawPackage(a.slug, src);
    const good = await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint);
    const envelope = JSON.parse(atob(good)) as { payload: string };
    const statement = JSON.parse(atob(envelope.payload)) as {
      predicate: { source: { sha256: string } };
    };
    statement.predicate.source.sha256 = "cd".repeat(32);
    envelope.payload = btoa(JSON.stringify(statement));
    const res = await publishSigned(a, zip, btoa(JSON.stringify(envelope)));
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(/signature-invalid$/);
  });

  it("refuses a valid signature over another package's digest", async () => {
    const { a, key } = await signedSetup();
    const zip = rawPackage(a.slug, src, { name: `@${a.slug}/same` });
    const other = rawPackage(a.slug, src.replace("ok", "other"), { name: `@${a.slug}/same` });
    const res = await publishSigned(
      a,
      zip,
      await envelopeHeader(await factsOf(other), key.pair.privateKey, key.fingerprint),
    );
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.type).toMatch(/signature-statement-mismatch$/);
    expect(p.detail).toContain("sha256");
    expect((await call(`/v1/plugins/@${a.slug}/same`, { key: a.apiKey })).status).toBe(404);
  });

  it("refuses a signature by a revoked key", async () => {
    const { a, key, keyId } = await signedSetup();
    const revoked = await call(`/v1/organizations/${a.orgId}/signing-keys/${keyId}`, {
      method: "DELETE",
      key: a.apiKey,
    });
    expect(revoked.status).toBe(200);
    const zip = rawPackage(a.slug, src);
    const res = await publishSigned(
      a,
      zip,
      await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint),
    );
    expect(res.status).toBe(403);
    const p = await problem(res);
    expect(p.type).toMatch(/signature-key-revoked$/);
    expect(p.detail).toContain(key.fingerprint);
  });

  it("refuses a signature by another organization's key", async () => {
    const { key } = await signedSetup();
    const b = await signup("sg");
    const zip = rawPackage(b.slug, src);
    const res = await publishSigned(
      b,
      zip,
      await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint),
    );
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.type).toMatch(/signature-unknown-key$/);
    expect(p.detail).toContain("not registered to your organization");
  });

  it.each([
    ["another version", (slug: string) => ({ name: `@${slug}/replay`, version: "1.0.1" })],
    ["another name", (slug: string) => ({ name: `@${slug}/replay-two`, version: "1.0.0" })],
  ])("refuses a signed statement replayed for %s", async (_label, target) => {
    const { a, key } = await signedSetup();
    const first = rawPackage(a.slug, src, { name: `@${a.slug}/replay`, version: "1.0.0" });
    const header = await envelopeHeader(await factsOf(first), key.pair.privateKey, key.fingerprint);
    expect((await publishSigned(a, first, header)).status).toBe(201);
    // The same bytes under another name or version are another package: the statement is not about it.
    const second = rawPackage(a.slug, src, target(a.slug));
    const res = await publishSigned(a, second, header);
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(/signature-statement-mismatch$/);
  });

  it.each([
    ["not base64", "%%%"],
    ["not an envelope", btoa(JSON.stringify({ hello: "world" }))],
    [
      "another payload type",
      btoa(JSON.stringify({ payloadType: "text/plain", payload: "", signatures: [] })),
    ],
  ])("refuses a header that is %s", async (_label, header) => {
    const { a } = await signedSetup();
    const res = await publishSigned(a, rawPackage(a.slug, src), header);
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(/signature-malformed$/);
  });
});

describe("signed publishing", () => {
  it("publishes a signed package and shows who signed it, with which key and source", async () => {
    const { a, key, keyId } = await signedSetup();
    const zip = rawPackage(a.slug, src, { name: `@${a.slug}/signed` });
    const facts = await factsOf(zip, "ef".repeat(32));
    const res = await publishSigned(
      a,
      zip,
      await envelopeHeader(facts, key.pair.privateKey, key.fingerprint),
    );
    expect(res.status).toBe(201);
    const body = (await res.json()) as { signature: Record<string, unknown> };
    expect(body.signature).toMatchObject({ keyId, fingerprint: key.fingerprint });
    const versions = (await (
      await call(`/v1/plugins/@${a.slug}/signed`, { key: a.apiKey })
    ).json()) as {
      versions: { signature: Record<string, unknown> | null }[];
    };
    expect(versions.versions[0]?.signature).toEqual({
      keyId,
      keyName: "ci",
      fingerprint: key.fingerprint,
      sourceDigest: "ef".repeat(32),
      cliVersion: "0.0.0-test",
      keyRevoked: false,
    });
    // The public listing (API and page) shows the same.
    const listing = (await (await call(`/v1/marketplace/listings/@${a.slug}/signed`)).json()) as {
      versions: { signature: { fingerprint: string } | null }[];
    };
    expect(listing.versions[0]?.signature?.fingerprint).toBe(key.fingerprint);
    const page = await (await call(`/listings/@${a.slug}/signed`)).text();
    expect(page).toContain(key.fingerprint);
    expect(page).toContain("ef".repeat(8));
    // Revoking the key flags the version it alone signed.
    await call(`/v1/organizations/${a.orgId}/signing-keys/${keyId}`, {
      method: "DELETE",
      key: a.apiKey,
    });
    const after = (await (
      await call(`/v1/plugins/@${a.slug}/signed`, { key: a.apiKey })
    ).json()) as {
      versions: { signature: { keyRevoked: boolean } | null }[];
    };
    expect(after.versions[0]?.signature?.keyRevoked).toBe(true);
    expect(await (await call(`/listings/@${a.slug}/signed`)).text()).toContain("(key revoked)");
  });

  it("requires a signature where the operator requires it of the publisher, and stores nothing unsigned", async () => {
    const { a, key } = await signedSetup();
    const set = await call(`/v1/operator/organizations/${a.orgId}/signature-requirement`, {
      method: "PUT",
      key: OPERATOR_KEY,
      json: { required: true },
    });
    expect(set.status).toBe(200);
    const zip = rawPackage(a.slug, src, { name: `@${a.slug}/must-sign` });
    const res = await publishZip(a, zip);
    expect(res.status).toBe(403);
    expect((await problem(res)).type).toMatch(/signature-required$/);
    expect((await call(`/v1/plugins/@${a.slug}/must-sign`, { key: a.apiKey })).status).toBe(404);
    const signed = await publishSigned(
      a,
      zip,
      await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint),
    );
    expect(signed.status).toBe(201);
  });

  it("requires a signature of every publisher on a plan the operator names", async () => {
    const a = await signup("sg");
    const set = await call("/v1/operator/signature-requirement", {
      method: "PUT",
      key: OPERATOR_KEY,
      json: { plans: ["pro"] },
    });
    expect(set.status).toBe(200);
    try {
      expect((await publishZip(a, rawPackage(a.slug, src))).status).toBe(201); // free plan
      await call(`/v1/operator/organizations/${a.orgId}/plan`, {
        method: "PUT",
        key: OPERATOR_KEY,
        json: { plan: "pro" },
      });
      const res = await publishZip(a, rawPackage(a.slug, src));
      expect(res.status).toBe(403);
      expect((await problem(res)).type).toMatch(/signature-required$/);
    } finally {
      await call("/v1/operator/signature-requirement", {
        method: "PUT",
        key: OPERATOR_KEY,
        json: { plans: [] },
      });
    }
  });
});

describe("/v1/organizations/{orgId}/signing-keys", () => {
  it("lists and revokes an organization's keys, audit logged", async () => {
    const { a, key, keyId } = await signedSetup();
    const list = (await (
      await call(`/v1/organizations/${a.orgId}/signing-keys`, { key: a.apiKey })
    ).json()) as { keys: { id: string; fingerprint: string; revokedAt: string | null }[] };
    expect(list.keys).toEqual([
      expect.objectContaining({ id: keyId, fingerprint: key.fingerprint, revokedAt: null }),
    ]);
    const del = await call(`/v1/organizations/${a.orgId}/signing-keys/${keyId}`, {
      method: "DELETE",
      key: a.apiKey,
    });
    expect(del.status).toBe(200);
    const again = await call(`/v1/organizations/${a.orgId}/signing-keys/${keyId}`, {
      method: "DELETE",
      key: a.apiKey,
    });
    expect(again.status).toBe(409);
    const audit = (await (
      await call(`/v1/organizations/${a.orgId}/audit-log`, { key: a.apiKey })
    ).json()) as { entries: { action: string }[] };
    const actions = audit.entries.map((e) => e.action);
    expect(actions).toContain("signing_key.added");
    expect(actions).toContain("signing_key.revoked");
  });

  it("refuses a key that is not an Ed25519 PEM public key", async () => {
    const a = await signup("sg");
    const rsa = (await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const spki = new Uint8Array(
      (await crypto.subtle.exportKey("spki", rsa.publicKey)) as ArrayBuffer,
    );
    let bin = "";
    for (const b of spki) bin += String.fromCharCode(b);
    for (const [publicKey, type] of [
      [`-----BEGIN PUBLIC KEY-----\n${btoa(bin)}\n-----END PUBLIC KEY-----`, "invalid-public-key"],
      ["ssh-ed25519 AAAA", "invalid-public-key"],
    ]) {
      const res = await call(`/v1/organizations/${a.orgId}/signing-keys`, {
        method: "POST",
        key: a.apiKey,
        json: { name: "x", publicKey },
      });
      expect(res.status).toBe(400);
      expect((await problem(res)).type).toMatch(new RegExp(`${type}$`));
    }
  });

  it("is another organization's business: 404 to list or revoke, no key added", async () => {
    const { a, keyId } = await signedSetup();
    const b = await signup("sg");
    expect(
      (await call(`/v1/organizations/${a.orgId}/signing-keys`, { key: b.apiKey })).status,
    ).toBe(404);
    expect(
      (
        await call(`/v1/organizations/${a.orgId}/signing-keys/${keyId}`, {
          method: "DELETE",
          key: b.apiKey,
        })
      ).status,
    ).toBe(404);
    const k = await newKey();
    expect(
      (
        await call(`/v1/organizations/${a.orgId}/signing-keys`, {
          method: "POST",
          key: b.apiKey,
          json: { name: "x", publicKey: k.pem },
        })
      ).status,
    ).toBe(404);
  });

  it("is for owners only: an admin of the organization, with org:write, can neither add nor revoke a key; nor can the operator", async () => {
    const a = await signup("sg");
    const admin = await invite(
      a,
      `sg-admin-${Math.random().toString(36).slice(2, 10)}@example.test`,
      "admin",
    );
    const k = await newKey();
    for (const key of [admin.apiKey, OPERATOR_KEY]) {
      const res = await call(`/v1/organizations/${a.orgId}/signing-keys`, {
        method: "POST",
        key,
        json: { name: "x", publicKey: k.pem },
      });
      expect(res.status).toBe(403);
      expect((await problem(res)).detail).toContain("owner");
    }
    const added = await call(`/v1/organizations/${a.orgId}/signing-keys`, {
      method: "POST",
      key: a.apiKey,
      json: { name: "owner's", publicKey: k.pem },
    });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: string };
    // The admin may read the keys (org:read) but not revoke one.
    expect(
      (await call(`/v1/organizations/${a.orgId}/signing-keys`, { key: admin.apiKey })).status,
    ).toBe(200);
    const revoke = await call(`/v1/organizations/${a.orgId}/signing-keys/${id}`, {
      method: "DELETE",
      key: admin.apiKey,
    });
    expect(revoke.status).toBe(403);
    const listed = (await (
      await call(`/v1/organizations/${a.orgId}/signing-keys`, { key: a.apiKey })
    ).json()) as { keys: { id: string; revokedAt: string | null }[] };
    expect(listed.keys.find((x) => x.id === id)?.revokedAt).toBeNull();
  });
});
