/**
 * Provenance to execution: a signed version runs only if the bytes the host loads are the bytes
 * its publisher signed, on every backend (loader in workerd, the dispatch stand-in, the service
 * backend's plugin host). The attack: after a signed publish, other bytes go into R2 and the
 * platform's own record of the hash is changed to match them, so the hash check alone would pass.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { forgetCachedPackages } from "../../src/runtime/packages";
import { loadSpec } from "../../src/runtime/resolve";
import { seal, sealInvoke } from "../../src/runtime/host-auth";
import { getDb } from "../../src/platform/db/client";
import pluginHost from "../../workers/plugin-host/src/index";
import { problem, type Account } from "../helpers";
import { dispatchEnv, standInDispatcher } from "../dispatch-standin";
import { installPlugin, publishZip, publisher, rawPackage } from "../plugin-helpers";
import { envelopeHeader, factsOf, newKey, publishSigned, register } from "../signing-helpers";
import { sha256Hex } from "../../src/contract/provenance";

const GOOD = `export default { fetch(req) {
  if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
  return new Response("good");
} };`;
const EVIL = GOOD.replace('"good"', '"evil"');

/** Publishes GOOD (signed unless `signed` is false): its name and package hash. */
async function publishGood(a: Account, signed = true): Promise<{ plugin: string; sha256: string }> {
  const zip = rawPackage(a.slug, GOOD);
  let res: Response;
  if (signed) {
    const key = await newKey();
    await register(a, key, `k-${Math.random().toString(36).slice(2, 8)}`);
    res = await publishSigned(
      a,
      zip,
      await envelopeHeader(await factsOf(zip), key.pair.privateKey, key.fingerprint),
    );
  } else res = await publishZip(a, zip);
  expect(res.status).toBe(201);
  return (await res.json()) as { plugin: string; sha256: string };
}

/** Puts EVIL into R2 and points the version's recorded hash at it (both stores tampered). */
async function swapBytesAndRecord(a: Account, sha256: string): Promise<void> {
  const evil = rawPackage(a.slug, EVIL);
  const evilSha = await sha256Hex(evil);
  await env.PACKAGES.put(`packages/sha256/${evilSha}.zip`, evil);
  await env.DB.prepare("UPDATE plugin_versions SET sha256 = ? WHERE sha256 = ?")
    .bind(evilSha, sha256)
    .run();
  forgetCachedPackages();
}

describe("a signed version on the loader backend", () => {
  it("runs when its bytes are the signed ones", async () => {
    const a = await publisher("pv");
    const pub = await publishGood(a);
    const inst = await installPlugin(a, { plugin: pub.plugin, grants: [] });
    expect(inst.status).toBe(201);
  });

  it("never runs other bytes, even with the recorded hash changed to match them", async () => {
    const a = await publisher("pv");
    const pub = await publishGood(a);
    await swapBytesAndRecord(a, pub.sha256);
    const res = await installPlugin(a, { plugin: pub.plugin, grants: [] });
    expect(res.status).toBe(502);
    expect((await problem(res)).type).toMatch(/plugin-integrity$/);
  });

  it("never runs bytes changed in R2 under the signed hash", async () => {
    const a = await publisher("pv");
    const pub = await publishGood(a);
    await env.PACKAGES.put(`packages/sha256/${pub.sha256}.zip`, rawPackage(a.slug, EVIL));
    forgetCachedPackages();
    const res = await installPlugin(a, { plugin: pub.plugin, grants: [] });
    expect(res.status).toBe(502);
    expect((await problem(res)).type).toMatch(/plugin-integrity$/);
  });

  it("control: an unsigned version has only the recorded hash to go by (the swap goes unseen)", async () => {
    // Why the signature matters: the same attack on an unsigned version passes the hash check.
    const a = await publisher("pv");
    const pub = await publishGood(a, false);
    await swapBytesAndRecord(a, pub.sha256);
    const res = await installPlugin(a, { plugin: pub.plugin, grants: [] });
    expect(res.status).toBe(201);
  });
});

describe("a signed version on the dispatch stand-in", () => {
  it("is never uploaded with other bytes, even with the recorded hash changed to match", async () => {
    const { ns } = standInDispatcher();
    const e = dispatchEnv(ns);
    const a = await publisher("pd");
    const pub = await publishGood(a);
    await swapBytesAndRecord(a, pub.sha256);
    const res = await app.request(
      new Request("http://atoll.test/v1/installations", {
        method: "POST",
        headers: { "x-api-key": a.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ plugin: pub.plugin, grants: [] }),
      }),
      undefined,
      e,
    );
    expect(res.status).toBe(502);
    expect(((await res.json()) as { type: string }).type).toMatch(/plugin-integrity$/);
  });
});

describe("a signed version on the service backend's plugin host", () => {
  it("is refused by the host that loads the bytes, from the spec the gateway sends", async () => {
    const a = await publisher("ps");
    const pub = await publishGood(a);
    const inst = await installPlugin(a, { plugin: pub.plugin, grants: [] });
    expect(inst.status).toBe(201);
    const { id } = (await inst.json()) as { id: string };
    await swapBytesAndRecord(a, pub.sha256);
    const spec = await loadSpec(getDb(env.DB), env.ATOLL_SECRET_KEY, id);
    expect(spec?.provenance).toBeTruthy();
    const secret = "test-host-secret-for-provenance";
    const call = async () => {
      // Through JSON, as the sealed message carries it.
      const specId = crypto.randomUUID();
      const specToken = await seal(secret, {
        kind: "spec",
        exp: Date.now() + 60_000,
        id: specId,
        spec: JSON.parse(JSON.stringify({ ...spec, revision: Date.now() })),
      });
      const headers = new Headers();
      const { token } = await sealInvoke(secret, {
        specId,
        method: "GET",
        url: new URL("http://host/"),
        headers,
        body: null,
        deadlineAt: Date.now() + 10_000,
      });
      return pluginHost.fetch(
        new Request("http://host/__host/invoke", {
          headers: { "x-atoll-host-auth": token, "x-atoll-host-spec": specToken },
        }),
        {
          PACKAGES: env.PACKAGES,
          LOADER: env.LOADER,
          INSTALLATION_STORE: env.INSTALLATION_STORE,
          ATOLL_EGRESS_OVERRIDES: "",
          ATOLL_HOST_SECRET: secret,
          ATOLL_GATEWAY_URL: "http://atoll.test",
        },
        { exports, waitUntil() {}, passThroughOnException() {}, props: {} } as never,
      );
    };
    const res = await call();
    expect(res.status).toBe(502);
    expect(((await res.json()) as { kind: string; message: string }).kind).toBe("integrity");
  });
});
