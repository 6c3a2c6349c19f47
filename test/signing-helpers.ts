/** Helpers for signed-publish tests: Ed25519 keys made with WebCrypto and DSSE envelopes. */
import { validateManifest } from "../src/contract/manifest";
import {
  DSSE_PAYLOAD_TYPE,
  bytesToBase64,
  keyFingerprint,
  manifestDigest,
  pae,
  publishStatement,
  sha256Hex,
  type PublishFacts,
} from "../src/contract/provenance";
import { unzipSync } from "fflate";
import { call, type Account } from "./helpers";

export interface TestKey {
  pair: CryptoKeyPair;
  pem: string;
  fingerprint: string;
}

export async function newKey(): Promise<TestKey> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const spki = new Uint8Array(
    (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer,
  );
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  const pem = `-----BEGIN PUBLIC KEY-----\n${bytesToBase64(spki)}\n-----END PUBLIC KEY-----\n`;
  return { pair, pem, fingerprint: await keyFingerprint(raw) };
}

/** Registers `key` for the account's organization; the registered key's id. */
export async function register(a: Account, key: TestKey, name = "ci"): Promise<string> {
  const res = await call(`/v1/organizations/${a.orgId}/signing-keys`, {
    method: "POST",
    key: a.apiKey,
    json: { name, publicKey: key.pem },
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** The facts of a package zip, as the CLI computes them (source digest chosen by the test). */
export async function factsOf(
  zip: Uint8Array<ArrayBuffer>,
  sourceDigest = "ab".repeat(32),
): Promise<PublishFacts> {
  const files = unzipSync(zip);
  const raw = JSON.parse(new TextDecoder().decode(files["manifest.json"])) as unknown;
  const v = validateManifest(raw);
  if (!v.ok) throw new Error("test package has an invalid manifest");
  return {
    plugin: v.manifest.name,
    version: v.manifest.version,
    sha256: await sha256Hex(zip),
    manifestDigest: await manifestDigest(v.manifest),
    sourceDigest,
    cliVersion: "0.0.0-test",
  };
}

/** The x-atoll-provenance header: `facts` signed by `signer`, naming `keyid`. */
export async function envelopeHeader(
  facts: PublishFacts,
  signer: CryptoKey,
  keyid: string,
): Promise<string> {
  const payload = new TextEncoder().encode(JSON.stringify(publishStatement(facts)));
  const sig = new Uint8Array(
    await crypto.subtle.sign("Ed25519", signer, pae(DSSE_PAYLOAD_TYPE, payload)),
  );
  const envelope = {
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: bytesToBase64(payload),
    signatures: [{ keyid, sig: bytesToBase64(sig) }],
  };
  return bytesToBase64(new TextEncoder().encode(JSON.stringify(envelope)));
}

export function publishSigned(
  a: Account,
  zip: Uint8Array<ArrayBuffer>,
  header: string | undefined,
): Promise<Response> {
  return call("/v1/packages", {
    method: "POST",
    key: a.apiKey,
    body: zip,
    headers: {
      "content-type": "application/zip",
      ...(header !== undefined ? { "x-atoll-provenance": header } : {}),
    },
  });
}
