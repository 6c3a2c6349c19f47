import { describe, expect, it } from "vitest";
import {
  API_KEY_LENGTH,
  checkApiKeyFormat,
  crc32,
  generateApiKey,
} from "../../src/access/tokens/api-key";

describe("API key format", () => {
  it("generates prefixed keys that pass their own checksum", () => {
    for (let i = 0; i < 200; i++) {
      const key = generateApiKey();
      expect(key).toMatch(/^atk_[0-9A-Za-z]+$/);
      expect(key).toHaveLength(API_KEY_LENGTH);
      expect(checkApiKeyFormat(key)).toEqual({ ok: true, displayPrefix: key.slice(0, 12) });
    }
  });

  it("never generates the same key twice in a sample", () => {
    const keys = new Set(Array.from({ length: 1000 }, generateApiKey));
    expect(keys.size).toBe(1000);
  });

  it("refuses a key with one character changed, by checksum, without any lookup", () => {
    const key = generateApiKey();
    const i = 10;
    const swapped = key.slice(0, i) + (key[i] === "a" ? "b" : "a") + key.slice(i + 1);
    expect(checkApiKeyFormat(swapped)).toEqual({ ok: false, reason: "checksum" });
  });

  it.each([
    ["empty", ""],
    ["truncated", generateApiKey().slice(0, -1)],
    ["wrong prefix", "atx_" + generateApiKey().slice(4)],
    ["non-base62", generateApiKey().slice(0, -7) + "-" + generateApiKey().slice(-6)],
    ["JWT-like", "eyJhbGciOiJub25lIn0.e30."],
  ])("refuses a %s value as malformed", (_label, value) => {
    expect(checkApiKeyFormat(value)).toMatchObject({ ok: false });
  });

  it("computes the standard CRC-32", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
  });
});
