/**
 * Reads a plugin package: a zip with `manifest.json` at its root and the ES modules it names.
 * Pure (no I/O), and defensive: every entry name, count, size and compression ratio is checked
 * against limits before anything is inflated; entries may not share compressed data; inflation
 * cannot run past an entry's declared size, and the number of deflate blocks is bounded by it, so
 * a package never costs more CPU than its declared (and ratio-bounded) sizes justify; and each
 * entry's CRC-32 from the central directory is verified.
 */
import { strFromU8 } from "fflate";
import { ZStream, Z_BLOCK, Z_OK, Z_STREAM_END, zlibInflate, zlibInflateInit2 } from "pako";
import { crc32Bytes } from "./crc32";
import { validateManifest, type Manifest } from "./manifest";
import type { Result } from "./result";

export const PACKAGE_LIMITS = {
  /** Whole package, compressed (also enforced on the request body before anything is read). */
  maxPackageBytes: 5 * 1024 * 1024,
  /** Everything inflated. */
  maxTotalBytes: 20 * 1024 * 1024,
  maxFileBytes: 5 * 1024 * 1024,
  /** All modules (.js/.mjs) together, inflated: the gateway parses every one at publish. */
  maxModuleBytes: 4 * 1024 * 1024,
  maxEntries: 200,
  maxNameLength: 200,
  /** An entry inflates to at most this many times its compressed size (real code: 3–10×)... */
  maxRatio: 100,
  /** ...unless it is this small (too little to cost anything). */
  ratioFreeBytes: 64 * 1024,
  /** The package as a whole inflates to at most max(this, maxRatio × its size). */
  ratioFreeTotalBytes: 1024 * 1024,
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

export type PackageResult = Result<{ contents: PackageContents }, PackageFailure>;

interface CentralEntry {
  name: string;
  crc: number;
  compressedSize: number;
  size: number;
  /** 0 stored, 8 deflate; anything else is refused. */
  method: number;
  /** General purpose flags; bit 0 means encrypted. */
  flags: number;
  localOffset: number;
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
      flags: view.getUint16(offset + 8, true),
      method: view.getUint16(offset + 10, true),
      localOffset: view.getUint32(offset + 42, true),
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
  if (name.length === 0 || name.length > PACKAGE_LIMITS.maxNameLength)
    return "name is empty or too long";
  if (name.includes("\\") || name.includes("\u0000")) return "backslashes and NUL are not allowed";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "absolute paths are not allowed";
  if (name.split("/").some((part) => part === ".." || part === "."))
    return "relative segments (. or ..) are not allowed";
  return null;
}

/**
 * Where each entry's compressed data lies, from its local header. Every entry must lie inside
 * the archive and no two may share bytes (an overlapping-entry bomb inflates the same data many
 * times), and the local header must name the same file as the central directory.
 */
function locateData(
  bytes: Uint8Array,
  entries: CentralEntry[],
): { ok: true; data: (Uint8Array | null)[] } | { ok: false; reason: "corrupt"; detail: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans: { start: number; end: number; name: string }[] = [];
  const data: (Uint8Array | null)[] = [];
  for (const e of entries) {
    const bad = (why: string) => ({
      ok: false as const,
      reason: "corrupt" as const,
      detail: `Entry "${e.name}" ${why}.`,
    });
    if (e.flags & 1) return bad("is encrypted");
    if (e.method !== 0 && e.method !== 8)
      return bad(`uses compression method ${e.method}; only stored (0) and deflate (8) are read`);
    const at = e.localOffset;
    if (at + 30 > bytes.length || view.getUint32(at, true) !== 0x04034b50)
      return bad("has no local header where the directory says");
    const nameLen = view.getUint16(at + 26, true);
    const extraLen = view.getUint16(at + 28, true);
    const start = at + 30 + nameLen + extraLen;
    const end = start + e.compressedSize;
    if (end > bytes.length) return bad("runs past the end of the archive");
    if (strFromU8(bytes.subarray(at + 30, at + 30 + nameLen)) !== e.name)
      return bad("has a local header that names another file");
    if (e.method === 0 && e.compressedSize !== e.size)
      return bad("is stored but declares two different sizes");
    spans.push({ start: at, end, name: e.name });
    data.push(e.name.endsWith("/") ? null : bytes.subarray(start, end));
  }
  spans.sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1] as (typeof spans)[number];
    const next = spans[i] as (typeof spans)[number];
    if (next.start < prev.end)
      return {
        ok: false,
        reason: "corrupt",
        detail: `Entries "${prev.name}" and "${next.name}" overlap.`,
      };
  }
  return { ok: true, data };
}

/**
 * Deflate blocks an entry may use: 64, plus one per KiB of declared output. Encoders emit a block
 * per several KiB at least; a stream of near-empty blocks would otherwise cost the Huffman table
 * build of each block while producing nothing (about a second per MB), whatever the sizes say.
 */
const maxBlocks = (size: number) => 64 + Math.floor(size / 1024);

/**
 * An entry's bytes, or why not. zlib (pako) writes into a buffer one byte longer than the declared
 * size, so it cannot decode further than that: a byte in the spare slot means the entry lies. It
 * stops at every block boundary (Z_BLOCK), where the blocks are counted.
 */
function inflateEntry(e: CentralEntry, input: Uint8Array): Uint8Array | string {
  if (e.method === 0) return input;
  const strm = new ZStream();
  if (zlibInflateInit2(strm, -15) !== Z_OK) return "cannot be inflated";
  const out = new Uint8Array(e.size + 1);
  strm.input = input;
  strm.next_in = 0;
  strm.avail_in = input.length;
  strm.output = out;
  strm.next_out = 0;
  strm.avail_out = out.length;
  const limit = maxBlocks(e.size);
  let blocks = 0;
  for (;;) {
    const before = strm.next_in + strm.next_out;
    const status = zlibInflate(strm, Z_BLOCK);
    if (strm.next_out > e.size) return `inflates to more than its declared ${e.size} bytes`;
    if (status === Z_STREAM_END) break;
    if (status !== Z_OK) return "is truncated or corrupt";
    if (strm.data_type & 128 && ++blocks > limit)
      return `has more than ${limit} deflate blocks for ${e.size} bytes`;
    if (strm.next_in + strm.next_out === before && !(strm.data_type & 128))
      return "is truncated or corrupt";
  }
  if (strm.next_out !== e.size) return "does not match its recorded size and checksum";
  return out.subarray(0, e.size);
}

export function readPackage(bytes: Uint8Array): PackageResult {
  if (bytes.length > PACKAGE_LIMITS.maxPackageBytes) {
    return {
      ok: false,
      reason: "too-large",
      detail: `The package is ${bytes.length} bytes; the limit is ${PACKAGE_LIMITS.maxPackageBytes}.`,
    };
  }
  const entries = centralDirectory(bytes);
  if (!entries)
    return {
      ok: false,
      reason: "corrupt",
      detail: "The package is not a readable zip archive (no central directory).",
    };
  if (entries.length > PACKAGE_LIMITS.maxEntries)
    return {
      ok: false,
      reason: "too-large",
      detail: `The package has ${entries.length} entries; the limit is ${PACKAGE_LIMITS.maxEntries}.`,
    };
  const seen = new Set<string>();
  let total = 0;
  for (const e of entries) {
    const problem = unsafePath(e.name);
    if (problem)
      return {
        ok: false,
        reason: "unsafe-path",
        detail: `Entry "${e.name.slice(0, 100)}": ${problem}.`,
      };
    if (seen.has(e.name))
      return { ok: false, reason: "corrupt", detail: `Entry "${e.name}" appears twice.` };
    seen.add(e.name);
    if (e.size > PACKAGE_LIMITS.maxFileBytes)
      return {
        ok: false,
        reason: "too-large",
        detail: `Entry "${e.name}" inflates to ${e.size} bytes; the limit per file is ${PACKAGE_LIMITS.maxFileBytes}.`,
      };
    if (
      e.size > PACKAGE_LIMITS.ratioFreeBytes &&
      e.size > PACKAGE_LIMITS.maxRatio * e.compressedSize
    ) {
      return {
        ok: false,
        reason: "too-large",
        detail: `Entry "${e.name}" declares ${e.size} bytes from ${e.compressedSize} compressed, a compression ratio above ${PACKAGE_LIMITS.maxRatio}.`,
      };
    }
    total += e.size;
  }
  if (total > PACKAGE_LIMITS.maxTotalBytes)
    return {
      ok: false,
      reason: "too-large",
      detail: `The package inflates to ${total} bytes; the limit is ${PACKAGE_LIMITS.maxTotalBytes}.`,
    };
  const allowedTotal = Math.max(
    PACKAGE_LIMITS.ratioFreeTotalBytes,
    PACKAGE_LIMITS.maxRatio * bytes.length,
  );
  if (total > allowedTotal) {
    return {
      ok: false,
      reason: "too-large",
      detail: `The package inflates to ${total} bytes, more than ${PACKAGE_LIMITS.maxRatio} times its size (${bytes.length} bytes).`,
    };
  }
  const moduleBytes = entries.reduce((n, e) => (/\.m?js$/.test(e.name) ? n + e.size : n), 0);
  if (moduleBytes > PACKAGE_LIMITS.maxModuleBytes) {
    return {
      ok: false,
      reason: "too-large",
      detail: `The package's modules inflate to ${moduleBytes} bytes; the limit is ${PACKAGE_LIMITS.maxModuleBytes}.`,
    };
  }

  const located = locateData(bytes, entries);
  if (!located.ok) return located;
  // No prototype: an entry named "__proto__" is a key like any other.
  const files = Object.create(null) as Record<string, Uint8Array>;
  for (const [i, e] of entries.entries()) {
    if (e.name.endsWith("/")) continue;
    const data = inflateEntry(e, located.data[i] as Uint8Array);
    if (typeof data === "string")
      return { ok: false, reason: "corrupt", detail: `Entry "${e.name}" ${data}.` };
    if (crc32Bytes(data) !== e.crc)
      return {
        ok: false,
        reason: "corrupt",
        detail: `Entry "${e.name}" does not match its recorded size and checksum.`,
      };
    files[e.name] = data;
  }

  const manifestBytes = files["manifest.json"];
  if (!manifestBytes)
    return {
      ok: false,
      reason: "manifest",
      detail: "The package has no manifest.json at its root.",
    };
  let raw: unknown;
  try {
    raw = JSON.parse(strFromU8(manifestBytes));
  } catch {
    return { ok: false, reason: "manifest", detail: "manifest.json is not valid JSON." };
  }
  const validated = validateManifest(raw);
  if (!validated.ok) {
    return {
      ok: false,
      reason: "manifest",
      detail: `manifest.json is invalid: ${validated.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      errors: validated.errors,
    };
  }
  const manifest = validated.manifest;
  const modules: Record<string, string> = {};
  for (const [path, data] of Object.entries(files)) {
    if (/\.m?js$/.test(path)) modules[path] = strFromU8(data);
  }
  if (!(manifest.entry in modules)) {
    return {
      ok: false,
      reason: "missing-module",
      detail: `manifest.json names entry "${manifest.entry}", which is not in the package.`,
    };
  }
  const readmeBytes = files["README.md"];
  const readme = readmeBytes ? strFromU8(readmeBytes.subarray(0, 64 * 1024)) : null;
  return {
    ok: true,
    contents: {
      manifest,
      modules,
      readme,
      files: entries
        .filter((e) => !e.name.endsWith("/"))
        .map((e) => ({ path: e.name, size: e.size })),
    },
  };
}
