/**
 * Plugin packages in R2, content-addressed: `packages/sha256/<hex>.zip`. Every load re-hashes the
 * bytes and refuses a package whose hash no longer matches the one recorded at publish.
 */
import { toHex } from "../platform/crypto/encoding";
import { readPackage } from "../contract/package";

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

/** The package's modules, from memory or from R2 (verified). */
export async function loadModules(
  bucket: R2Bucket,
  sha256: string,
): Promise<Record<string, string>> {
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
}
