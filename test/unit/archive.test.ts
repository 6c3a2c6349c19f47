import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { crc32Bytes } from "../../src/contract/crc32";
import { PACKAGE_LIMITS, readPackage } from "../../src/contract/package";

const manifest = {
  name: "@acme/hello",
  version: "1.0.0",
  description: "d",
  author: "a",
  kind: "plugin",
  entry: "index.js",
  apiVersion: "1",
};
const js = "export default { fetch() { return new Response('hi'); } };";

function pkg(files: Record<string, string | Uint8Array>): Uint8Array {
  return zipSync(
    Object.fromEntries(
      Object.entries(files).map(([k, v]) => [k, typeof v === "string" ? strToU8(v) : v]),
    ),
  );
}

/** Rewrites a zip entry's name in place (local header and central directory), same length. */
function renameEntry(zip: Uint8Array, from: string, to: string): Uint8Array {
  const out = zip.slice();
  const a = strToU8(from);
  const b = strToU8(to);
  for (let i = 0; i < out.length - a.length; i++) {
    if (a.every((x, j) => out[i + j] === x)) out.set(b, i);
  }
  return out;
}

describe("package archive", () => {
  it("reads the manifest and the modules", () => {
    const r = readPackage(
      pkg({
        "manifest.json": JSON.stringify(manifest),
        "index.js": js,
        "lib/util.mjs": "export const x = 1;",
        "README.md": "# hi",
      }),
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(Object.keys(r.contents.modules).sort()).toEqual(["index.js", "lib/util.mjs"]);
      expect(r.contents.manifest.name).toBe("@acme/hello");
    }
  });

  it("refuses a package without manifest.json, or with invalid JSON", () => {
    expect(readPackage(pkg({ "index.js": js }))).toMatchObject({ ok: false, reason: "manifest" });
    expect(readPackage(pkg({ "manifest.json": "{", "index.js": js }))).toMatchObject({
      ok: false,
      reason: "manifest",
      detail: expect.stringMatching(/JSON/),
    });
  });

  it("refuses a manifest naming a module that is not in the package", () => {
    expect(
      readPackage(
        pkg({ "manifest.json": JSON.stringify({ ...manifest, entry: "main.js" }), "index.js": js }),
      ),
    ).toMatchObject({
      ok: false,
      reason: "missing-module",
      detail: expect.stringContaining("main.js"),
    });
  });

  it.each([
    ["../evil.js", "../"],
    ["/etc/passw", "/"],
    ["a\\b\\evil.js", "\\"],
  ])("refuses a traversal entry name (%s)", (name) => {
    const placeholder = "x".repeat(name.length);
    const zip = renameEntry(
      pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js, [placeholder]: "boom" }),
      placeholder,
      name,
    );
    expect(readPackage(zip)).toMatchObject({ ok: false, reason: "unsafe-path" });
  });

  it("refuses truncated and garbage archives", () => {
    const zip = pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js });
    expect(readPackage(zip.subarray(0, zip.length - 10))).toMatchObject({
      ok: false,
      reason: "corrupt",
    });
    expect(readPackage(new Uint8Array([80, 75, 3, 4, 0, 0]))).toMatchObject({
      ok: false,
      reason: "corrupt",
    });
  });

  it("refuses a zip bomb by declared size before inflating it", () => {
    const zip = pkg({
      "manifest.json": JSON.stringify(manifest),
      "index.js": js,
      "bomb.bin": new Uint8Array(PACKAGE_LIMITS.maxFileBytes + 1),
    });
    expect(zip.length).toBeLessThan(100_000);
    expect(readPackage(zip)).toMatchObject({ ok: false, reason: "too-large" });
  });

  it("refuses an entry whose data does not match its declared size (a lying zip)", () => {
    const zip = pkg({
      "manifest.json": JSON.stringify(manifest),
      "index.js": js,
      "data.bin": new Uint8Array(50_000),
    });
    // Declare 100 bytes in both headers for data.bin: fflate would hand back a truncated file.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    for (let i = 0; i < zip.length - 4; i++) {
      const sig = view.getUint32(i, true);
      if (
        sig === 0x04034b50 &&
        new TextDecoder().decode(zip.subarray(i + 30, i + 38)) === "data.bin"
      )
        view.setUint32(i + 22, 100, true);
      if (
        sig === 0x02014b50 &&
        new TextDecoder().decode(zip.subarray(i + 46, i + 54)) === "data.bin"
      )
        view.setUint32(i + 24, 100, true);
    }
    expect(readPackage(zip)).toMatchObject({ ok: false, reason: "corrupt" });
  });

  it("refuses more module source than the gateway parses at publish", () => {
    // Incompressible text, so the ratio limits do not answer first.
    const random = new Uint8Array(PACKAGE_LIMITS.maxModuleBytes / 4);
    for (let at = 0; at < random.length; at += 65536)
      crypto.getRandomValues(random.subarray(at, at + 65536));
    const half = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
    const zip = pkg({
      "manifest.json": JSON.stringify(manifest),
      "index.js": js,
      "a.js": `// ${half}`,
      "b.mjs": `// ${half}`,
    });
    expect(readPackage(zip)).toMatchObject({
      ok: false,
      reason: "too-large",
      detail: expect.stringMatching(/modules inflate to/),
    });
  });

  it("refuses too many entries and oversized packages", () => {
    const many = Object.fromEntries(
      Array.from({ length: PACKAGE_LIMITS.maxEntries + 1 }, (_, i) => [`f${i}.txt`, "x"]),
    );
    expect(
      readPackage(pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js, ...many })),
    ).toMatchObject({ ok: false, reason: "too-large" });
    expect(readPackage(new Uint8Array(PACKAGE_LIMITS.maxPackageBytes + 1))).toMatchObject({
      ok: false,
      reason: "too-large",
    });
  });
});

/**
 * A raw deflate stream, built bit by bit: one fixed-Huffman block of a literal zero and then
 * `runs` copies of "258 bytes at distance 1". 13 bits per 258 bytes, so 1 MB inflates to 160 MB.
 */
function zeroRuns(runs: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((3 + 8 + runs * 13 + 7) / 8) + 1);
  let bit = 0;
  const put = (value: number, n: number) => {
    for (let i = 0; i < n; i++, bit++) if ((value >> i) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  };
  // Huffman codes are packed most significant bit first.
  const code = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i--, bit++) if ((value >> i) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  };
  put(1, 1); // BFINAL
  put(1, 2); // BTYPE 01: fixed Huffman
  code(0b00110000, 8); // literal 0
  for (let r = 0; r < runs; r++) {
    code(0b11000101, 8); // length symbol 285: 258 bytes
    code(0, 5); // distance code 0: distance 1
  }
  code(0, 7); // end of block
  return out.subarray(0, (bit + 7) >> 3);
}

/** Canonical Huffman codes for the given code lengths (RFC 1951, 3.2.2). */
function canonical(lengths: number[]): number[] {
  const count = new Array<number>(16).fill(0);
  for (const l of lengths) if (l) count[l]!++;
  const next = new Array<number>(16).fill(0);
  for (let bits = 1, code = 0; bits < 16; bits++)
    next[bits] = code = (code + count[bits - 1]!) << 1;
  return lengths.map((l) => (l ? next[l]!++ : -1));
}

/**
 * `count` valid, empty dynamic-Huffman blocks (about 21 bytes each, no output): a literal code
 * whose longest code is 15 bits, so every block makes a naive inflater build a 32K-entry table.
 */
function emptyDynamicBlocks(count: number): Uint8Array {
  const out = new Uint8Array(count * 22 + 8);
  let bit = 0;
  const put = (value: number, n: number) => {
    for (let i = 0; i < n; i++, bit++) if ((value >> i) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  };
  const code = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i--, bit++) if ((value >> i) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  };
  // Literal/length lengths: symbols 0–13 get 2–15 bits, 14 gets 15, end-of-block (256) 1 bit.
  const literal = [
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    15,
    ...new Array<number>(241).fill(0),
    1,
  ];
  const literalCodes = canonical(literal);
  // Code-length alphabet: 1–15 and 18 (a run of zeros), 4 bits each.
  const clLengths = new Array<number>(19).fill(0);
  for (let l = 1; l <= 15; l++) clLengths[l] = 4;
  clLengths[18] = 4;
  const clCodes = canonical(clLengths);
  const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
  for (let b = 0; b < count; b++) {
    put(b === count - 1 ? 1 : 0, 1);
    put(2, 2); // dynamic Huffman
    put(0, 5); // 257 literal/length codes
    put(1, 5); // 2 distance codes
    put(15, 4); // 19 code-length codes
    for (const sym of order) put(clLengths[sym]!, 3);
    for (const l of literal.slice(0, 15)) code(clCodes[l]!, 4);
    code(clCodes[18]!, 4);
    put(138 - 11, 7);
    code(clCodes[18]!, 4);
    put(103 - 11, 7);
    for (let i = 0; i < 3; i++) code(clCodes[1]!, 4); // end-of-block and the two distances: 1 bit
    code(literalCodes[256]!, 1);
  }
  return out.subarray(0, (bit + 7) >> 3);
}

interface RawEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: 0 | 8;
  data: Uint8Array;
  /** What the headers declare (they may lie). */
  size: number;
  crc: number;
}

/** A zip written by hand, so its headers can say whatever a hostile publisher wants. */
function rawZip(
  entries: RawEntry[],
  patch?: (central: DataView, index: number, localOffsets: number[]) => void,
): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const h = new DataView(new ArrayBuffer(30));
    h.setUint32(0, 0x04034b50, true);
    h.setUint16(4, 20, true);
    h.setUint16(8, e.method, true);
    h.setUint32(14, e.crc, true);
    h.setUint32(18, e.data.length, true);
    h.setUint32(22, e.size, true);
    h.setUint16(26, name.length, true);
    offsets.push(offset);
    locals.push(new Uint8Array(h.buffer), name, e.data);
    offset += 30 + name.length + e.data.length;
  }
  const centrals: Uint8Array[] = [];
  let centralSize = 0;
  entries.forEach((e, i) => {
    const name = enc.encode(e.name);
    const h = new DataView(new ArrayBuffer(46));
    h.setUint32(0, 0x02014b50, true);
    h.setUint16(4, 20, true);
    h.setUint16(6, 20, true);
    h.setUint16(10, e.method, true);
    h.setUint32(16, e.crc, true);
    h.setUint32(20, e.data.length, true);
    h.setUint32(24, e.size, true);
    h.setUint16(28, name.length, true);
    h.setUint32(42, offsets[i]!, true);
    patch?.(h, i, offsets);
    centrals.push(new Uint8Array(h.buffer), name);
    centralSize += 46 + name.length;
  });
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  const parts = [...locals, ...centrals, new Uint8Array(end.buffer)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

function stored(name: string, text: string): RawEntry {
  const data = strToU8(text);
  return { name, method: 0, data, size: data.length, crc: crc32Bytes(data) };
}

const honestFiles = () => [
  stored("manifest.json", JSON.stringify(manifest)),
  stored("index.js", js),
];

describe("package archive: decompression bombs (CPU)", () => {
  it("reads a hand-written zip (the bombs below differ only in what they declare)", () => {
    const data = zeroRuns(100);
    const size = 1 + 258 * 100;
    const r = readPackage(
      rawZip([
        ...honestFiles(),
        { name: "zeros.bin", method: 8, data, size, crc: crc32Bytes(new Uint8Array(size)) },
      ]),
    );
    expect(r).toMatchObject({ ok: true });
  });

  it("stops inflating an entry that lies about its size as soon as it passes the declared size", () => {
    // About 1 MB of deflate that inflates to about 160 MB, declared as 100 bytes.
    const data = zeroRuns(640_000);
    expect(data.length).toBeGreaterThan(1_000_000);
    const started = Date.now();
    const r = readPackage(
      rawZip([
        ...honestFiles(),
        { name: "bomb.bin", method: 8, data, size: 100, crc: crc32Bytes(new Uint8Array(100)) },
      ]),
    );
    const elapsed = Date.now() - started;
    expect(r).toMatchObject({
      ok: false,
      reason: "corrupt",
      detail: expect.stringMatching(/bomb\.bin.*more than its declared 100 bytes/),
    });
    // Generous: decoding the whole stream takes seconds; stopping at the declared size, milliseconds.
    expect(elapsed).toBeLessThan(1_000);
  });

  it("refuses a stream of empty deflate blocks (no output, a Huffman table build each) without decoding it all", () => {
    // About 1 MB of valid deflate that produces nothing: a naive inflater spends tens of seconds.
    const data = emptyDynamicBlocks(50_000);
    expect(data.length).toBeGreaterThan(1_000_000);
    const started = Date.now();
    const r = readPackage(
      rawZip([...honestFiles(), { name: "blocks.bin", method: 8, data, size: 0, crc: 0 }]),
    );
    const elapsed = Date.now() - started;
    expect(r).toMatchObject({
      ok: false,
      reason: "corrupt",
      detail: expect.stringMatching(/blocks\.bin.*more than 64 deflate blocks/),
    });
    expect(elapsed).toBeLessThan(1_000);
    // A few such blocks are still a valid (empty) entry.
    expect(
      readPackage(
        rawZip([
          ...honestFiles(),
          { name: "few.bin", method: 8, data: emptyDynamicBlocks(3), size: 0, crc: 0 },
        ]),
      ),
    ).toMatchObject({ ok: true });
  });

  it("refuses an entry that honestly declares a compression ratio no real file has", () => {
    const size = 4 * 1024 * 1024;
    const zip = pkg({
      "manifest.json": JSON.stringify(manifest),
      "index.js": js,
      "zeros.bin": new Uint8Array(size),
    });
    expect(zip.length).toBeLessThan(size / 500);
    expect(readPackage(zip)).toMatchObject({
      ok: false,
      reason: "too-large",
      detail: expect.stringMatching(/zeros\.bin.*compression ratio/),
    });
  });

  it("refuses a package whose entries together inflate far beyond what its size justifies", () => {
    // Each entry stays under the per-entry allowance for small files; together they do not.
    const many = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [`z${i}.bin`, new Uint8Array(60 * 1024)]),
    );
    const zip = pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js, ...many });
    expect(readPackage(zip)).toMatchObject({
      ok: false,
      reason: "too-large",
      detail: expect.stringMatching(/package inflates to .* times its size/),
    });
  });

  it("refuses two entries that share one stretch of compressed data (an overlapping-entry bomb)", () => {
    const data = zeroRuns(100);
    const size = 1 + 258 * 100;
    const crc = crc32Bytes(new Uint8Array(size));
    const zip = rawZip(
      [
        ...honestFiles(),
        { name: "a.bin", method: 8, data, size, crc },
        { name: "b.bin", method: 8, data, size, crc },
      ],
      (central, i, offsets) => {
        if (i === 3) central.setUint32(42, offsets[2]!, true);
      },
    );
    expect(readPackage(zip)).toMatchObject({ ok: false, reason: "corrupt" });
  });

  it("refuses encrypted entries and unknown compression methods", () => {
    const weird = { ...stored("x.bin", "hello"), method: 12 as 0 };
    expect(readPackage(rawZip([...honestFiles(), weird]))).toMatchObject({
      ok: false,
      reason: "corrupt",
      detail: expect.stringContaining("x.bin"),
    });
    const encrypted = rawZip([...honestFiles(), stored("y.bin", "hello")], (central, i) => {
      if (i === 2) central.setUint16(8, 1, true);
    });
    expect(readPackage(encrypted)).toMatchObject({
      ok: false,
      reason: "corrupt",
      detail: expect.stringContaining("y.bin"),
    });
  });
});
