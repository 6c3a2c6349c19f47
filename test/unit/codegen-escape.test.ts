/**
 * The SDK generators' escapers (src/portal/codegen/escape.ts): each context's breakouts come out
 * inert, and the escaped literal still means the original text.
 */
import { describe, expect, it } from "vitest";
import {
  javaComment,
  javaString,
  jsComment,
  jsString,
  Namer,
  plainText,
  pyComment,
  pyDocstring,
  pyString,
  safeCamel,
  safePascal,
  safeSnake,
} from "../../src/portal/codegen/escape";

const NASTY =
  'a */ b /* c\n d\r e\u2028 f\u2029 g\u0085 h\u0000 i\u202e j """ k \'\'\' l \\ m " n ${o} p \\u000a q `r` é 😀';

describe("comments", () => {
  it("plain text has no line terminator, control or invisible character", () => {
    expect(plainText(NASTY)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  });
  it("a JS comment cannot be closed", () => {
    const c = jsComment(NASTY);
    expect(c).not.toContain("*/");
    expect(c).not.toMatch(/[\n\r\u2028\u2029]/);
  });
  it("a Java comment has no comment closer, no unicode escape javac would decode, ASCII only", () => {
    const c = javaComment(NASTY);
    expect(c).not.toContain("*/");
    expect(c).toMatch(/^[\x20-\x7e]*$/);
    // Every backslash that precedes a `u` is itself escaped (an even run), except our own \uXXXX.
    for (const m of c.matchAll(/(\\+)u([0-9a-fA-F]{4})?/g)) {
      const run = m[1]?.length ?? 0;
      if (run % 2 === 1) expect(Number.parseInt(m[2] ?? "0", 16)).toBeGreaterThan(0x7f);
    }
    expect(javaComment("\\u002a/")).toBe("\\\\u002a/");
  });
  it("a Python comment stays on its line", () => {
    expect(pyComment(NASTY)).not.toMatch(/[\n\r\f\v\u0085\u2028\u2029]/);
  });
  it("a Python docstring cannot be closed", () => {
    const d = pyDocstring(NASTY);
    expect(d).not.toContain('"""');
    expect(d).not.toMatch(/(^|[^\\])(\\\\)*"/); // every quote escaped
    expect(d.endsWith("\\")).toBe(false);
    expect(pyDocstring('ends with a quote"')).toBe('ends with a quote\\"');
    expect(pyDocstring("ends with a backslash\\")).toBe("ends with a backslash\\\\");
  });
});

describe("string literals", () => {
  it("a JS string means the original text and holds no raw line terminator or ${", () => {
    const s = jsString(NASTY);
    expect(s).not.toMatch(/[\n\r\u2028\u2029]/);
    expect(s).not.toContain("${");

    expect(new Function(`return ${s};`)()).toBe(NASTY);
  });
  it("a Python string is ASCII with every quote, backslash and control escaped", () => {
    const s = pyString(NASTY);
    expect(s).toMatch(/^"[\x20-\x7e]*"$/);
    expect(s.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*"/);
    expect(pyString("😀")).toBe('"\\U0001f600"');
    expect(pyString("\u0000{x}")).toBe('"\\x00{x}"');
  });
  it("a Java string is ASCII; controls are octal escapes (a \\u000a would end the line)", () => {
    const s = javaString(NASTY);
    expect(s).toMatch(/^"[\x20-\x7e]*"$/);
    expect(javaString("\n\u0000\u2028\\u000a")).toBe('"\\n\\000\\u2028\\\\u000a"');
    expect(javaString('"')).toBe('"\\""');
  });
});

describe("identifiers", () => {
  it("are letters, digits and _ only, never a leading digit", () => {
    expect(safeCamel("idempotency-key")).toBe("idempotencyKey");
    expect(safePascal("a b")).toBe("AB");
    expect(safeSnake("getMeById")).toBe("get_me_by_id");
    const n = new Namer(safeCamel);
    expect(n.name("1st")).toBe("_1st");
    expect(n.name('x"; evil(); "')).toBe("xEvil");
    expect(n.name("")).toBe("value");
    expect(n.name("\u2028")).toBe("value_2");
  });
  it("avoid reserved words of every target language and the given names", () => {
    const n = new Namer(safeCamel, ["request"]);
    expect(n.name("class")).toBe("class_");
    expect(n.name("__proto__")).toBe("proto");
    expect(n.name("constructor")).toBe("constructor_");
    expect(n.name("def")).toBe("def_");
    expect(n.name("synchronized")).toBe("synchronized_");
    expect(n.name("request")).toBe("request_2");
  });
  it("are unique, case-insensitively (Java files on case-insensitive disks)", () => {
    const n = new Namer(safePascal);
    expect([n.name("a-b"), n.name("A B"), n.name("aB"), n.name("a_b")]).toEqual([
      "AB",
      "AB_2",
      "AB_3",
      "AB_4",
    ]);
  });
  it("are at most 64 characters", () => {
    expect(new Namer(safeCamel).name("x".repeat(500)).length).toBeLessThanOrEqual(64);
  });
});
