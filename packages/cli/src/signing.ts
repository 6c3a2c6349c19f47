/**
 * Signing what `atoll publish` uploads: an Ed25519 key pair the developer generates (the private
 * key is written to a file with mode 0600 and never leaves this machine: it is read from that
 * file, never from a flag's value or an environment variable's), and the DSSE envelope of an
 * in-toto Statement v1 about the package (src/contract/provenance.ts says why that format).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
} from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { validateManifest } from "../../../src/contract/manifest";
import {
  DSSE_PAYLOAD_TYPE,
  bytesToBase64,
  keyFingerprint,
  manifestDigest,
  pae,
  parsePublicKeyPem,
  publishStatement,
} from "../../../src/contract/provenance";
import { unzipSync } from "fflate";
import { CliError } from "./build";

/** The CLI's own version (its package.json, beside dist/ and src/). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Writes a new key pair: `file` (private, PKCS#8 PEM, mode 0600) and `file.pub` (public, PEM). */
export async function generateKeyFile(
  file: string,
): Promise<{ publicPem: string; fingerprint: string }> {
  if (existsSync(file)) throw new CliError(`${file} exists; choose another --out (or remove it)`);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  writeFileSync(`${file}.pub`, publicPem);
  return { publicPem, fingerprint: await fingerprintOf(publicPem) };
}

export async function fingerprintOf(publicPem: string): Promise<string> {
  const parsed = parsePublicKeyPem(publicPem);
  if (!parsed.ok) throw new CliError(parsed.detail);
  return keyFingerprint(parsed.raw);
}

/** The public key (PEM) of a private key file. */
export function publicPemOf(privateFile: string): string {
  return createPublicKey(readPrivate(privateFile))
    .export({ type: "spki", format: "pem" })
    .toString();
}

function readPrivate(file: string) {
  if (!existsSync(file)) throw new CliError(`no key file ${file} (atoll keys generate makes one)`);
  try {
    const key = createPrivateKey(readFileSync(file));
    if (key.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 key");
    return key;
  } catch (err) {
    throw new CliError(`${file} is not an Ed25519 private key: ${(err as Error).message}`);
  }
}

const SKIP = new Set(["node_modules", "dist", ".git", ".atoll", ".wrangler", "atoll.dev.json"]);

/**
 * The digest of a source folder: SHA-256 over the sorted lines `<sha256 of file>  <path>` (the
 * sha256sum format), skipping build output, dependencies and atoll.dev.json (local secrets).
 */
export function sourceDigest(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (SKIP.has(name)) continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile())
        lines.push(
          `${createHash("sha256").update(readFileSync(p)).digest("hex")}  ${relative(dir, p).split(sep).join("/")}`,
        );
    }
  };
  walk(dir);
  lines.sort();
  return createHash("sha256")
    .update(lines.join("\n") + "\n")
    .digest("hex");
}

/** The x-atoll-provenance header for `zip`, signed with the key in `keyFile`. */
export async function provenanceHeader(
  zip: Uint8Array,
  keyFile: string,
  source: string,
): Promise<{ header: string; fingerprint: string }> {
  const key = readPrivate(keyFile);
  const files = unzipSync(zip);
  const rawManifest = files["manifest.json"];
  if (!rawManifest) throw new CliError("the package has no manifest.json");
  const v = validateManifest(JSON.parse(new TextDecoder().decode(rawManifest)) as unknown);
  if (!v.ok) throw new CliError("the package's manifest.json is invalid");
  const statement = publishStatement({
    plugin: v.manifest.name,
    version: v.manifest.version,
    sha256: createHash("sha256").update(zip).digest("hex"),
    manifestDigest: await manifestDigest(v.manifest),
    sourceDigest: source,
    cliVersion: cliVersion(),
  });
  const payload = new TextEncoder().encode(JSON.stringify(statement));
  const sig = sign(null, pae(DSSE_PAYLOAD_TYPE, payload), key);
  const fingerprint = await fingerprintOf(
    createPublicKey(key).export({ type: "spki", format: "pem" }).toString(),
  );
  const envelope = {
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: bytesToBase64(payload),
    signatures: [{ keyid: fingerprint, sig: bytesToBase64(new Uint8Array(sig)) }],
  };
  return { header: bytesToBase64(new TextEncoder().encode(JSON.stringify(envelope))), fingerprint };
}
