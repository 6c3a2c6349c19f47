/**
 * Publish provenance: what `atoll publish` signs and what the platform verifies, at publish and
 * again whenever the runtime builds a version's spec. Pure (WebCrypto only, no I/O), shared by the
 * CLI (which builds and signs) and the gateway (which verifies).
 *
 * Format: an in-toto Statement v1 (https://in-toto.io/Statement/v1) in a DSSE envelope
 * (https://github.com/secure-systems-lab/dsse), signed with Ed25519. Why these: in-toto is the
 * statement format SLSA, npm provenance and Sigstore attest with, so a statement can be read by
 * tools that exist; DSSE signs the exact payload bytes with their type (PAE), so no canonical JSON
 * is needed for the signature and a payload of another type can never be passed off as this one.
 * The subject is the package (its SHA-256); the predicate binds the plugin name and version, the
 * manifest's digest, the CLI's version and the digest of the source the package was built from.
 */
import { z } from "zod";
import { err, ok, type Result } from "./result";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const PREDICATE_TYPE = "https://atoll.dev/attestations/publish/v1";
export const DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** The request header that carries the envelope at publish: base64 of its JSON. */
export const PROVENANCE_HEADER = "x-atoll-provenance";
/** Most bytes of that header (an envelope is well under 2 KB). */
export const MAX_ENVELOPE_BYTES = 8 * 1024;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** What the publisher attests about one package. */
export interface PublishFacts {
  plugin: string;
  version: string;
  /** SHA-256 (hex) of the package bytes. */
  sha256: string;
  /** SHA-256 (hex) of the validated manifest in canonical JSON (manifestDigest). */
  manifestDigest: string;
  /** SHA-256 (hex) of the source tree the package was built from (sourceDigest). */
  sourceDigest: string;
  cliVersion: string;
}

const StatementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z
    .array(z.object({ name: z.string().max(300), digest: z.object({ sha256: Hex64 }) }))
    .length(1),
  predicateType: z.literal(PREDICATE_TYPE),
  predicate: z.object({
    plugin: z.string().max(300),
    version: z.string().max(64),
    manifest: z.object({ sha256: Hex64 }),
    source: z.object({ sha256: Hex64 }),
    builder: z.object({ name: z.literal("atoll-cli"), version: z.string().max(64) }),
  }),
});
export type Statement = z.infer<typeof StatementSchema>;

const EnvelopeSchema = z.object({
  payloadType: z.literal(DSSE_PAYLOAD_TYPE),
  payload: z.string().max(MAX_ENVELOPE_BYTES),
  signatures: z.array(z.object({ keyid: z.string().max(200), sig: z.string().max(200) })).length(1),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** The statement for `facts` (what the CLI signs). */
export function publishStatement(facts: PublishFacts): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: `${facts.plugin}@${facts.version}`, digest: { sha256: facts.sha256 } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      plugin: facts.plugin,
      version: facts.version,
      manifest: { sha256: facts.manifestDigest },
      source: { sha256: facts.sourceDigest },
      builder: { name: "atoll-cli", version: facts.cliVersion },
    },
  };
}

const te = new TextEncoder();

/** DSSE's pre-authentication encoding: what the signature covers. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const type = te.encode(payloadType);
  const head = te.encode(`DSSEv1 ${type.length} `);
  const mid = te.encode(` ${payload.length} `);
  const out = new Uint8Array(head.length + type.length + mid.length + payload.length);
  out.set(head, 0);
  out.set(type, head.length);
  out.set(mid, head.length + type.length);
  out.set(payload, head.length + type.length + mid.length);
  return out;
}

/** JSON with object keys sorted at every depth (for the manifest digest). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The digest of a validated manifest (canonical JSON), as the CLI and the gateway compute it. */
export function manifestDigest(manifest: unknown): Promise<string> {
  return sha256Hex(new Uint8Array(te.encode(canonicalJson(manifest))));
}

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): 12 bytes, then the 32-byte key. */
const ED25519_SPKI_PREFIX = [
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

export type KeyRefusal = { reason: "not-pem" | "not-ed25519"; detail: string };

/** The raw 32-byte key of an Ed25519 public key in PEM (`-----BEGIN PUBLIC KEY-----`), or why not. */
export function parsePublicKeyPem(
  pem: string,
): Result<{ raw: Uint8Array<ArrayBuffer> }, KeyRefusal> {
  const m =
    /^\s*-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]{1,400})-----END PUBLIC KEY-----\s*$/.exec(
      pem,
    );
  const der = m?.[1] ? base64ToBytes(m[1].replace(/\s+/g, "")) : null;
  if (!der)
    return err({
      reason: "not-pem",
      detail: "publicKey must be a PEM public key (-----BEGIN PUBLIC KEY-----).",
    });
  if (der.length !== 44 || ED25519_SPKI_PREFIX.some((b, i) => der[i] !== b))
    return err({ reason: "not-ed25519", detail: "publicKey must be an Ed25519 key." });
  return ok({ raw: der.slice(12) });
}

/** A key's fingerprint: `SHA256:` and the unpadded base64 of the raw key's SHA-256 (as ssh-keygen -l). */
export async function keyFingerprint(raw: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return `SHA256:${bytesToBase64(d).replace(/=+$/, "")}`;
}

export type EnvelopeRefusal = { reason: "malformed"; detail: string };

type Parsed = Result<
  { envelope: Envelope; statement: Statement; payload: Uint8Array<ArrayBuffer> },
  EnvelopeRefusal
>;
const malformed = (detail: string) => err({ reason: "malformed" as const, detail });

/** Parses the header value: base64 of the envelope's JSON, with its statement. */
export function parseEnvelope(header: string): Parsed {
  if (header.length > MAX_ENVELOPE_BYTES) return malformed("the envelope is too large");
  const bytes = base64ToBytes(header.trim());
  if (!bytes) return malformed("the header is not base64");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return malformed("the envelope is not JSON");
  }
  return parseEnvelopeJson(json);
}

/** Parses an envelope already decoded from JSON (as stored with a version), with its statement. */
export function parseEnvelopeJson(json: unknown): Parsed {
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success)
    return malformed(
      `the envelope is not a DSSE envelope of ${DSSE_PAYLOAD_TYPE} with one signature`,
    );
  const payload = base64ToBytes(envelope.data.payload);
  if (!payload) return malformed("the payload is not base64");
  let statementJson: unknown;
  try {
    statementJson = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(payload),
    );
  } catch {
    return malformed("the payload is not JSON");
  }
  const statement = StatementSchema.safeParse(statementJson);
  if (!statement.success)
    return malformed(`the payload is not an in-toto Statement v1 with predicate ${PREDICATE_TYPE}`);
  return ok({ envelope: envelope.data, statement: statement.data, payload });
}

/**
 * The package digest a stored provenance record signs, if its signature verifies with the key
 * stored beside it; null otherwise. What the runtime checks the bytes it loads against.
 */
export async function signedDigest(provenance: StoredProvenance): Promise<string | null> {
  const parsed = parseEnvelopeJson(provenance.envelope);
  if (!parsed.ok) return null;
  const raw = base64UrlToBytes(provenance.publicKey);
  if (!raw || !(await signatureVerifies(parsed.envelope, parsed.payload, raw))) return null;
  return parsed.statement.subject[0]?.digest.sha256 ?? null;
}

/** What a signed version keeps: its envelope and the public key that verified it at publish. */
export interface StoredProvenance {
  envelope: unknown;
  /** The raw Ed25519 key, base64url. */
  publicKey: string;
}

function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return base64ToBytes(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
}

/** Whether the envelope's one signature is `raw`'s over the payload (DSSE PAE). */
export async function signatureVerifies(
  envelope: Envelope,
  payload: Uint8Array<ArrayBuffer>,
  raw: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const sig = base64ToBytes(envelope.signatures[0]?.sig ?? "");
  if (!sig || sig.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, sig, pae(envelope.payloadType, payload));
  } catch {
    return false;
  }
}

/** The first field in which the statement differs from the package it came with, or null. */
export function statementMismatch(
  statement: Statement,
  facts: Pick<PublishFacts, "plugin" | "version" | "sha256" | "manifestDigest">,
): string | null {
  const subject = statement.subject[0];
  if (statement.predicate.plugin !== facts.plugin || !subject?.name.startsWith(`${facts.plugin}@`))
    return `it names ${statement.predicate.plugin}, not ${facts.plugin}`;
  if (
    statement.predicate.version !== facts.version ||
    subject.name !== `${facts.plugin}@${facts.version}`
  )
    return `it is for version ${statement.predicate.version}, not ${facts.version}`;
  if (subject.digest.sha256 !== facts.sha256)
    return `it signs package sha256 ${subject.digest.sha256}, not this package's ${facts.sha256}`;
  if (statement.predicate.manifest.sha256 !== facts.manifestDigest)
    return "it signs another manifest";
  return null;
}
