/** The pure half of publish provenance (src/contract/provenance.ts): DSSE's PAE, keys, parsing. */
import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  pae,
  parseEnvelope,
  parsePublicKeyPem,
  publishStatement,
  signedDigest,
  statementMismatch,
} from "../../src/contract/provenance";
import { envelopeHeader, newKey } from "../signing-helpers";

const facts = {
  plugin: "@a/b",
  version: "1.0.0",
  sha256: "aa".repeat(32),
  manifestDigest: "bb".repeat(32),
  sourceDigest: "cc".repeat(32),
  cliVersion: "0.1.0",
};

describe("provenance", () => {
  it("encodes PAE as the DSSE specification's example", () => {
    const out = pae("http://example.com/HelloWorld", new TextEncoder().encode("hello world"));
    expect(new TextDecoder().decode(out)).toBe(
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });

  it("writes canonical JSON with keys sorted at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });

  it.each([
    ["not PEM", "ssh-ed25519 AAAA", "not-pem"],
    [
      "a private key",
      "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----",
      "not-pem",
    ],
    [
      "the wrong length",
      "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----",
      "not-ed25519",
    ],
  ])("refuses a public key that is %s", (_l, pem, reason) => {
    const r = parsePublicKeyPem(pem);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it("names the first field a statement differs in", () => {
    const s = publishStatement(facts);
    expect(statementMismatch(s, facts)).toBeNull();
    expect(statementMismatch(s, { ...facts, plugin: "@a/c" })).toMatch(/names @a\/b/);
    expect(statementMismatch(s, { ...facts, version: "1.0.1" })).toMatch(/version 1\.0\.0/);
    expect(statementMismatch(s, { ...facts, sha256: "dd".repeat(32) })).toMatch(/sha256/);
    expect(statementMismatch(s, { ...facts, manifestDigest: "dd".repeat(32) })).toMatch(
      /another manifest/,
    );
  });

  it("gives the signed digest of a stored record only when its signature verifies", async () => {
    const key = await newKey();
    const header = await envelopeHeader(facts, key.pair.privateKey, key.fingerprint);
    const parsed = parseEnvelope(header);
    expect(parsed.ok).toBe(true);
    const raw = new Uint8Array(
      (await crypto.subtle.exportKey("raw", key.pair.publicKey)) as ArrayBuffer,
    );
    let b64 = "";
    for (const b of raw) b64 += String.fromCharCode(b);
    const publicKey = btoa(b64).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const envelope = JSON.parse(atob(header)) as { signatures: { sig: string }[] };
    expect(await signedDigest({ envelope, publicKey })).toBe(facts.sha256);
    const other = await newKey();
    const otherRaw = new Uint8Array(
      (await crypto.subtle.exportKey("raw", other.pair.publicKey)) as ArrayBuffer,
    );
    let o = "";
    for (const b of otherRaw) o += String.fromCharCode(b);
    const otherKey = btoa(o).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(await signedDigest({ envelope, publicKey: otherKey })).toBeNull();
    expect(await signedDigest({ envelope: null, publicKey })).toBeNull();
    expect(await signedDigest({ envelope, publicKey: "" })).toBeNull();
  });
});
