/**
 * Plugin packages in R2, content-addressed: `packages/sha256/<hex>.zip`. Every load re-hashes the
 * bytes and refuses a package whose hash no longer matches the one recorded at publish; for a
 * signed version it also re-verifies the publisher's signature and refuses bytes it does not sign.
 */
import { toHex } from "../platform/crypto/encoding";
import { readPackage } from "../contract/package";
import { signedDigest, type StoredProvenance } from "../contract/provenance";

export const packageKey = (sha256: string) => `packages/sha256/${sha256}.zip`;

/**
 * A package that cannot be loaded as published. Recognised by its type where it is thrown (the
 * loader backend records it), never by its text, so a plugin's error message cannot pass for one.
 */
export class PackageIntegrityError extends Error {}

const cache = new Map<string, Record<string, string>>();
const MAX_CACHED = 50;

export async function sha256OfBytes(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** Signature checks already made in this isolate: `${sha256}:${signature}` → verdict. */
const verified = new Map<string, boolean>();

/** Whether `provenance` is a valid signature over exactly `sha256` (memoized per isolate). */
async function signs(provenance: StoredProvenance, sha256: string): Promise<boolean> {
  const sig = JSON.stringify(provenance);
  const key = `${sha256}:${sig}`;
  const known = verified.get(key);
  if (known !== undefined) return known;
  const verdict = (await signedDigest(provenance)) === sha256;
  if (verified.size >= 500) verified.clear();
  verified.set(key, verdict);
  return verdict;
}

/**
 * The package's modules, from memory or from R2 (verified): the bytes must hash to `sha256`, and
 * for a signed version `provenance` must verify and sign that same digest.
 */
export async function loadModules(
  bucket: R2Bucket,
  sha256: string,
  provenance?: StoredProvenance,
  signed = false,
): Promise<Record<string, string>> {
  // A signed version whose provenance record is gone is not run as if it were unsigned.
  if (signed && !provenance)
    throw new PackageIntegrityError(
      `package ${sha256} was published signed but its provenance record is missing`,
    );
  if (provenance && !(await signs(provenance, sha256)))
    throw new PackageIntegrityError(
      `package ${sha256} is not the package its publisher signed (the signature does not verify or signs another digest)`,
    );
  const hit = cache.get(sha256);
  if (hit) return hit;
  const object = await bucket.get(packageKey(sha256));
  if (!object) throw new PackageIntegrityError(`package ${sha256} is missing from storage`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  if ((await sha256OfBytes(bytes)) !== sha256)
    throw new PackageIntegrityError(`package ${sha256} does not match its recorded hash`);
  const read = readPackage(bytes);
  if (!read.ok) throw new PackageIntegrityError(`package ${sha256} cannot be read: ${read.detail}`);
  if (cache.size >= MAX_CACHED) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(sha256, read.contents.modules);
  return read.contents.modules;
}

/** Test hook: forget cached modules (to prove the integrity check runs on load). */
export function forgetCachedPackages(): void {
  cache.clear();
  verified.clear();
}
