import { describe, expect, it } from "vitest";
import { decryptString, encryptString } from "../../src/platform/crypto/aead";

const SECRET = "dGVzdC1vbmx5LXNlY3JldC1rZXktMzItYnl0ZXMtb2s";

describe("encryption at rest", () => {
  it("round-trips and never stores the plaintext", async () => {
    const stored = await encryptString(SECRET, "private-jwk-material", "signing-key:k1");
    expect(stored).toMatch(/^v1\./);
    expect(stored).not.toContain("private-jwk-material");
    expect(await decryptString(SECRET, stored, "signing-key:k1")).toBe("private-jwk-material");
  });

  it("uses a fresh IV each time", async () => {
    const a = await encryptString(SECRET, "x", "c");
    const b = await encryptString(SECRET, "x", "c");
    expect(a).not.toBe(b);
  });

  it("fails for a ciphertext moved to another row (bound context)", async () => {
    const stored = await encryptString(SECRET, "x", "signing-key:k1");
    await expect(decryptString(SECRET, stored, "signing-key:k2")).rejects.toThrow();
  });

  it("fails for a tampered ciphertext and for another key", async () => {
    const stored = await encryptString(SECRET, "hello", "c");
    const tampered = stored.slice(0, -2) + (stored.endsWith("A") ? "BB" : "AA");
    await expect(decryptString(SECRET, tampered, "c")).rejects.toThrow();
    await expect(
      decryptString("b3RoZXItc2VjcmV0LWtleS0zMi1ieXRlcy1sb25nISE", stored, "c"),
    ).rejects.toThrow();
  });

  it("refuses a secret of the wrong size", async () => {
    await expect(encryptString("c2hvcnQ", "x", "c")).rejects.toThrow(/32 bytes/);
  });
});
