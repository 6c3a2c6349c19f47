import { describe, expect, it } from "vitest";
import {
  MAX_TAGS,
  TAG_PATTERN,
  decodeTagId,
  encodeTagId,
  installationOfTags,
  installationTag,
  scriptTags,
} from "../../src/runtime/script-tags";
import { newId } from "../../src/platform/crypto/encoding";

const spec = {
  installationId: "ins_AbCdEfGhIjKlMnOpQrSt",
  orgId: "org_ZZZZZZZZZZZZZZZZZZZZ",
  pluginId: "plg_0a1B2c3D4e5F6g7H8i9J",
  environment: "production" as const,
  sha256: "AB".repeat(32),
};

describe("user Worker tags", () => {
  it("are at most eight, each in the safe alphabet: no `:`, `@`, `/`, `,` or `&`", () => {
    const tags = scriptTags(spec);
    expect(tags.length).toBeLessThanOrEqual(MAX_TAGS);
    for (const t of tags) {
      expect(t).toMatch(TAG_PATTERN);
      expect(t).not.toMatch(/[:@/,&\s]/);
    }
    expect(tags).toEqual([
      "atoll",
      "installation-ins___ab_cd_ef_gh_ij_kl_mn_op_qr_st",
      "org-org___z_z_z_z_z_z_z_z_z_z_z_z_z_z_z_z_z_z_z_z",
      "plugin-plg__0a1_b2c3_d4e5_f6g7_h8i9_j",
      "env-production",
      `package-${"ab".repeat(20)}`,
    ]);
  });

  it("write ids reversibly: every generated id comes back from its tag, case and all", () => {
    for (let i = 0; i < 200; i++) {
      const id = newId(["ins", "org", "plg"][i % 3] as string);
      const encoded = encodeTagId(id);
      expect(encoded).toMatch(/^[a-z0-9_]+$/);
      expect(decodeTagId(encoded)).toBe(id);
    }
    // Two ids differing only in case get different tags (a case-folding store cannot merge them).
    expect(encodeTagId("ins_abc")).not.toBe(encodeTagId("ins_ABC"));
  });

  it("name the installation only through one well-formed installation tag", () => {
    const id = spec.installationId;
    expect(installationOfTags(scriptTags(spec))).toBe(id);
    expect(installationOfTags([installationTag(id), installationTag("ins_other")])).toBeNull();
    expect(installationOfTags([`installation-${id}`])).toBeNull(); // not the encoding
    expect(installationOfTags([`installation:${id}`])).toBeNull(); // the old form
    expect(installationOfTags(["installation-org__x"])).toBeNull(); // not an installation id
    expect(installationOfTags(["installation-ins__a_"])).toBeNull(); // a dangling escape
    expect(installationOfTags(["atoll"])).toBeNull();
  });

  it("refuse to encode what is not an id", () => {
    expect(() => encodeTagId("@scope/name")).toThrow();
    expect(() => encodeTagId("a".repeat(41))).toThrow();
  });
});
