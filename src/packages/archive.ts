/**
 * Reads a plugin package: a zip with `manifest.json` at its root and the ES modules it names.
 * Pure (no I/O), and defensive: every entry name, count and size is checked against limits before
 * anything is inflated, the inflated sizes are bounded by the declared ones, and each entry's
 * CRC-32 from the central directory is verified (a zip that lies about sizes fails here).
 */
import { strFromU8, unzipSync } from "fflate";
import { crc32Bytes } from "../crypto/crc32";
import { validateManifest, type Manifest } from "../plugins/manifest";

export const PACKAGE_LIMITS = {
  /** Whole package, compressed (also enforced on the request body before anything is read). */
  maxPackageBytes: 5 * 1024 * 1024,
  /** Everything inflated. */
  maxTotalBytes: 20 * 1024 * 1024,
  maxFileBytes: 5 * 1024 * 1024,
  maxEntries: 200,
  maxNameLength: 200,
} as const;

export type PackageFailure =
  | { reason: "too-large"; detail: string }
  | { reason: "corrupt"; detail: string }
  | { reason: "unsafe-path"; detail: string }
  | { reason: "manifest"; detail: string; errors?: { path: string; message: string }[] }
  | { reason: "missing-module"; detail: string };

export interface PackageContents {
  manifest: Manifest;
  /** ES modules by path (`.js`/`.mjs`), as source text. */
  modules: Record<string, string>;
  /** README.md at the root (the listing's description), if any, at most 64 KiB. */
  readme: string | null;
  /** Every file in the archive, with its inflated size. */
  files: { path: string; size: number }[];
}

export type PackageResult = { ok: true; contents: PackageContents } | ({ ok: false } & PackageFailure);

interface CentralEntry {
  name: string;
  crc: number;
  compressedSize: number;
  size: number;
}

/** Reads the central directory (no inflation): names, CRCs and declared sizes. */
function centralDirectory(bytes: Uint8Array): CentralEntry[] | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory record: at least 22 bytes from the end, comment up to 65535.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  const entries: CentralEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) return null;
    const nameLen = view.getUint16(offset + 28, true);
    const extraLen = view.getUint16(offset + 30, true);
    const commentLen = view.getUint16(offset + 32, true);
    if (offset + 46 + nameLen > bytes.length) return null;
    entries.push({
      crc: view.getUint32(offset + 16, true),
      compressedSize: view.getUint32(offset + 20, true),
      size: view.getUint32(offset + 24, true),
      name: strFromU8(bytes.subarray(offset + 46, offset + 46 + nameLen)),
    });
    offset += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Why an entry name is unsafe (null when it is fine). */
export function unsafePath(name: string): string | null {
  if (name.length === 0 || name.length > PACKAGE_LIMITS.maxNameLength) return "name is empty or too long";
  if (name.includes("\\") || name.includes("\u0000")) return "backslashes and NUL are not allowed";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "absolute paths are not allowed";
  if (name.split("/").some((part) => part === ".." || part === ".")) return "relative segments (. or ..) are not allowed";
  return null;
}

export function readPackage(bytes: Uint8Array): PackageResult {
  if (bytes.length > PACKAGE_LIMITS.maxPackageBytes) {
    return { ok: false, reason: "too-large", detail: `The package is ${bytes.length} bytes; the limit is ${PACKAGE_LIMITS.maxPackageBytes}.` };
  }
  const entries = centralDirectory(bytes);
  if (!entries) return { ok: false, reason: "corrupt", detail: "The package is not a readable zip archive (no central directory)." };
  if (entries.length > PACKAGE_LIMITS.maxEntries) return { ok: false, reason: "too-large", detail: `The package has ${entries.length} entries; the limit is ${PACKAGE_LIMITS.maxEntries}.` };
  const seen = new Set<string>();
  let total = 0;
  for (const e of entries) {
    const problem = unsafePath(e.name);
    if (problem) return { ok: false, reason: "unsafe-path", detail: `Entry "${e.name.slice(0, 100)}": ${problem}.` };
    if (seen.has(e.name)) return { ok: false, reason: "corrupt", detail: `Entry "${e.name}" appears twice.` };
    seen.add(e.name);
    if (e.size > PACKAGE_LIMITS.maxFileBytes) return { ok: false, reason: "too-large", detail: `Entry "${e.name}" inflates to ${e.size} bytes; the limit per file is ${PACKAGE_LIMITS.maxFileBytes}.` };
    total += e.size;
  }
  if (total > PACKAGE_LIMITS.maxTotalBytes) return { ok: false, reason: "too-large", detail: `The package inflates to ${total} bytes; the limit is ${PACKAGE_LIMITS.maxTotalBytes}.` };

  let files: Record<string, Uint8Array>;
  try {
    // fflate inflates each entry into a buffer of its declared size, so the sizes checked above
    // bound memory even when an entry's data would inflate further.
    files = unzipSync(bytes, { filter: (f) => !f.name.endsWith("/") });
  } catch {
    return { ok: false, reason: "corrupt", detail: "The package is truncated or corrupt." };
  }
  for (const e of entries) {
    if (e.name.endsWith("/")) continue;
    const data = files[e.name];
    if (!data || data.length !== e.size || crc32Bytes(data) !== e.crc) {
      return { ok: false, reason: "corrupt", detail: `Entry "${e.name}" does not match its recorded size and checksum.` };
    }
  }

  const manifestBytes = files["manifest.json"];
  if (!manifestBytes) return { ok: false, reason: "manifest", detail: "The package has no manifest.json at its root." };
  let raw: unknown;
  try {
    raw = JSON.parse(strFromU8(manifestBytes));
  } catch {
    return { ok: false, reason: "manifest", detail: "manifest.json is not valid JSON." };
  }
  const validated = validateManifest(raw);
  if (!validated.ok) {
    return { ok: false, reason: "manifest", detail: `manifest.json is invalid: ${validated.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`, errors: validated.errors };
  }
  const manifest = validated.manifest;
  const modules: Record<string, string> = {};
  for (const [path, data] of Object.entries(files)) {
    if (/\.m?js$/.test(path)) modules[path] = strFromU8(data);
  }
  if (!(manifest.entry in modules)) {
    return { ok: false, reason: "missing-module", detail: `manifest.json names entry "${manifest.entry}", which is not in the package.` };
  }
  const readmeBytes = files["README.md"];
  const readme = readmeBytes ? strFromU8(readmeBytes.subarray(0, 64 * 1024)) : null;
  return { ok: true, contents: { manifest, modules, readme, files: entries.filter((e) => !e.name.endsWith("/")).map((e) => ({ path: e.name, size: e.size })) } };
}
