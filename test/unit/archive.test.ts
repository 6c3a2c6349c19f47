import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { PACKAGE_LIMITS, readPackage } from "../../src/packages/archive";

const manifest = { name: "@acme/hello", version: "1.0.0", description: "d", author: "a", kind: "plugin", entry: "index.js", apiVersion: "1" };
const js = "export default { fetch() { return new Response('hi'); } };";

function pkg(files: Record<string, string | Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === "string" ? strToU8(v) : v])));
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
    const r = readPackage(pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js, "lib/util.mjs": "export const x = 1;", "README.md": "# hi" }));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(Object.keys(r.contents.modules).sort()).toEqual(["index.js", "lib/util.mjs"]);
      expect(r.contents.manifest.name).toBe("@acme/hello");
    }
  });

  it("refuses a package without manifest.json, or with invalid JSON", () => {
    expect(readPackage(pkg({ "index.js": js }))).toMatchObject({ ok: false, reason: "manifest" });
    expect(readPackage(pkg({ "manifest.json": "{", "index.js": js }))).toMatchObject({ ok: false, reason: "manifest", detail: expect.stringMatching(/JSON/) });
  });

  it("refuses a manifest naming a module that is not in the package", () => {
    expect(readPackage(pkg({ "manifest.json": JSON.stringify({ ...manifest, entry: "main.js" }), "index.js": js }))).toMatchObject({ ok: false, reason: "missing-module", detail: expect.stringContaining("main.js") });
  });

  it.each([
    ["../evil.js", "../"],
    ["/etc/passw", "/"],
    ["a\\b\\evil.js", "\\"],
  ])("refuses a traversal entry name (%s)", (name) => {
    const placeholder = "x".repeat(name.length);
    const zip = renameEntry(pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js, [placeholder]: "boom" }), placeholder, name);
    expect(readPackage(zip)).toMatchObject({ ok: false, reason: "unsafe-path" });
  });

  it("refuses truncated and garbage archives", () => {
    const zip = pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js });
    expect(readPackage(zip.subarray(0, zip.length - 10))).toMatchObject({ ok: false, reason: "corrupt" });
    expect(readPackage(new Uint8Array([80, 75, 3, 4, 0, 0]))).toMatchObject({ ok: false, reason: "corrupt" });
  });

  it("refuses a zip bomb by declared size before inflating it", () => {
    const zip = pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js, "bomb.bin": new Uint8Array(PACKAGE_LIMITS.maxFileBytes + 1) });
    expect(zip.length).toBeLessThan(100_000);
    expect(readPackage(zip)).toMatchObject({ ok: false, reason: "too-large" });
  });

  it("refuses an entry whose data does not match its declared size (a lying zip)", () => {
    const zip = pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js, "data.bin": new Uint8Array(50_000) });
    // Declare 100 bytes in both headers for data.bin: fflate would hand back a truncated file.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    for (let i = 0; i < zip.length - 4; i++) {
      const sig = view.getUint32(i, true);
      if (sig === 0x04034b50 && new TextDecoder().decode(zip.subarray(i + 30, i + 38)) === "data.bin") view.setUint32(i + 22, 100, true);
      if (sig === 0x02014b50 && new TextDecoder().decode(zip.subarray(i + 46, i + 54)) === "data.bin") view.setUint32(i + 24, 100, true);
    }
    expect(readPackage(zip)).toMatchObject({ ok: false, reason: "corrupt" });
  });

  it("refuses too many entries and oversized packages", () => {
    const many = Object.fromEntries(Array.from({ length: PACKAGE_LIMITS.maxEntries + 1 }, (_, i) => [`f${i}.txt`, "x"]));
    expect(readPackage(pkg({ "manifest.json": JSON.stringify(manifest), "index.js": js, ...many }))).toMatchObject({ ok: false, reason: "too-large" });
    expect(readPackage(new Uint8Array(PACKAGE_LIMITS.maxPackageBytes + 1))).toMatchObject({ ok: false, reason: "too-large" });
  });
});
