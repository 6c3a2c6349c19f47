/**
 * Escapers for every context in which text from an OpenAPI document (which, for a plugin's SDK,
 * its publisher controls) reaches generated code. Pure, no I/O; each generator routes every
 * document string through one of these and never concatenates raw text into code.
 *
 * - comments: line terminators of any of the three languages (LF, CR, U+0085, U+2028, U+2029),
 *   every other control or format character (NUL, bidi overrides), and the comment closers;
 * - string literals: quotes, backslashes, controls, `${`, U+2028/9 and, for Java, every
 *   non-ASCII character as `\uXXXX` (javac decodes `\u` escapes before lexing, so backslashes
 *   are always doubled and a control character is never written as `\u00XX`);
 * - identifiers: letters, digits and `_` only, never a leading digit, never a reserved word of
 *   any target language, unique within their scope (see {@link Namer}).
 */

/** Line terminators, controls, format characters (bidi overrides, zero-width) and separators. */

const UNSAFE_TEXT =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/** Text on one line with no control or invisible character: the base of every comment. */
export function plainText(text: string): string {
  return text.replace(UNSAFE_TEXT, " ");
}

/** Inside a JS/TS `/** … *\/` block comment. */
export function jsComment(text: string): string {
  return plainText(text).replace(/\*\//g, "*\\/");
}

/** Inside a Java `/** … *\/` comment: no `\u` escape survives, no HTML, no comment closer, ASCII only. */
export function javaComment(text: string): string {
  return javaAscii(
    plainText(text)
      .replace(/\\/g, "\\\\")
      .replace(/\*\//g, "*\\/")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/@/g, "&#64;"),
  );
}

/** Non-ASCII UTF-16 units as `\uXXXX` (never a control character: those are gone or escaped). */
function javaAscii(text: string): string {
  return text.replace(
    /[^\u0000-\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** After a Python `#`. */
export function pyComment(text: string): string {
  return plainText(text);
}

/** Inside a Python `"""…"""` docstring (a plain, non-raw string). */
export function pyDocstring(text: string): string {
  return plainText(text).replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/** A JS/TS string literal, double-quoted: safe in code, in `.d.ts` literal types and in JSON. */
export function jsString(text: string): string {
  return JSON.stringify(text)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")
    .replace(/\$\{/g, "$\\{")
    .replace(/<\//g, "<\\/");
}

/** A Python string literal (double-quoted, not an f-string), ASCII only. */
export function pyString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x80) out += ch;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** A Java string literal, ASCII only; controls as octal escapes (a `\u000a` would end the line). */
export function javaString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    const code = text.charCodeAt(i);
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(8).padStart(3, "0")}`;
    else if (code < 0x80) out += ch;
    else out += `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

/** Markdown text on one line (README): no HTML, no code fences, no links that were not meant. */
export function mdText(text: string): string {
  return plainText(text).replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`);
}

const words_ = (text: string) => new Set(text.split(" "));

/** JavaScript/TypeScript reserved words, and names dangerous as members or parameters. */
export const JS_KEYWORDS = words_(
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await async arguments eval constructor prototype __proto__ undefined NaN Infinity",
);
/** Python keywords (hard and soft) and the names a generated method uses itself. */
export const PY_KEYWORDS = words_(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type self cls",
);
/** Java keywords and literals, and Object's methods (a record accessor of that name would clash). */
export const JAVA_KEYWORDS = words_(
  "abstract assert boolean break byte case catch char class const continue default do double else enum extends final finally float for goto if implements import instanceof int interface long native new package private protected public return short static strictfp super switch synchronized this throw throws transient try void volatile while true false null var record yield sealed permits when module getClass hashCode equals clone finalize notify notifyAll wait toString",
);
/** Reserved in any target language (names shared by all three SDKs). */
export const RESERVED: ReadonlySet<string> = new Set([
  ...JS_KEYWORDS,
  ...PY_KEYWORDS,
  ...JAVA_KEYWORDS,
]);

/** Splits on anything that is not a letter or digit: `idempotency-key` → [idempotency, key]. */
function words(text: string): string[] {
  return text.split(/[^A-Za-z0-9]+/).filter(Boolean);
}

/** camelCase made of ASCII letters and digits only; "" when nothing is left. */
export function safeCamel(text: string): string {
  return words(text)
    .map((p, i) =>
      i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1),
    )
    .join("");
}

export function safePascal(text: string): string {
  const c = safeCamel(text);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

export function safeSnake(text: string): string {
  return safeCamel(text)
    .replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
    .replace(/^_+/, "");
}

/**
 * Hands out identifiers unique within one scope: sanitized, never reserved, never starting with a
 * digit, never empty, and never a name already taken (a collision gets `_2`, `_3`, …).
 */
export class Namer {
  private readonly taken = new Set<string>();
  /**
   * @param taken names already in use in the scope (the runtime's members, other types)
   * @param keywords words never handed out as is (they get a trailing `_`)
   */
  constructor(
    private readonly style: (text: string) => string,
    taken: Iterable<string> = [],
    private readonly keywords: ReadonlySet<string> = RESERVED,
  ) {
    for (const r of taken) this.taken.add(r.toLowerCase());
  }

  name(text: string, fallback = "value"): string {
    // At most 64 characters: a file name (Java) and a readable identifier.
    let base = (this.style(text) || this.style(fallback) || fallback).slice(0, 64);
    if (/^[0-9]/.test(base)) base = `_${base}`;
    if (this.keywords.has(base)) base = `${base}_`;
    let candidate = base;
    for (let n = 2; this.taken.has(candidate.toLowerCase()); n++) candidate = `${base}_${n}`;
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}
