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
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

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
  return text.replace(/[^\u0000-\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
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

/** Words reserved (or dangerous as member names) in TypeScript/JavaScript, Python or Java. */
export const RESERVED = new Set(
  (
    // JavaScript / TypeScript
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await async arguments eval constructor prototype __proto__ toString valueOf hasOwnProperty then any unknown never object string number boolean symbol bigint undefined type declare namespace module require " +
    // Python
    "False None True and as assert def del elif except from global is lambda nonlocal not or pass raise match case self cls print list dict str int float bool bytes input range format filter id max min " +
    // Java (keywords, literals, and Object's methods a record accessor would clash with)
    "abstract byte char double final float goto int long native short strictfp synchronized throws transient volatile record var sealed permits non-sealed getClass hashCode equals clone finalize notify notifyAll wait"
  ).split(" "),
);

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
  constructor(
    private readonly style: (text: string) => string,
    reserved: Iterable<string> = [],
  ) {
    for (const r of reserved) this.taken.add(r.toLowerCase());
  }

  name(text: string, fallback = "value"): string {
    // At most 64 characters: a file name (Java) and a readable identifier.
    let base = (this.style(text) || this.style(fallback) || fallback).slice(0, 64);
    if (/^[0-9]/.test(base)) base = `_${base}`;
    if (RESERVED.has(base) || RESERVED.has(base.toLowerCase())) base = `${base}_`;
    let candidate = base;
    for (let n = 2; this.taken.has(candidate.toLowerCase()); n++) candidate = `${base}_${n}`;
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}
