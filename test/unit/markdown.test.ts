/**
 * The tutorial and listing-description renderer (src/portal/markdown.ts): publisher-written
 * markdown becomes HTML that the web UI inserts raw, so every hostile form must come out inert.
 */
import { describe, expect, it } from "vitest";
import { renderMarkdown, summaryOf } from "../../src/portal/markdown";

const TAGS = [
  "p",
  "a",
  "img",
  "code",
  "pre",
  "em",
  "strong",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "ul",
  "ol",
  "li",
  "blockquote",
  "hr",
  "br",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
  "s",
];

/**
 * Every tag is well formed and from markdown's own vocabulary, with quoted attributes, no event
 * handler, and no URL that runs script or opens a document.
 */
function inert(html: string): void {
  for (const tag of html.match(/<[a-z][^>]*>/gi) ?? []) {
    const m = /^<([a-z][a-z0-9]*)((?:\s+[a-z-]+="[^"<>]*")*)\s*>$/i.exec(tag);
    expect(m, `malformed tag ${tag}`).not.toBeNull();
    expect(TAGS, tag).toContain(m?.[1]);
    for (const [, name = "", value = ""] of (m?.[2] ?? "").matchAll(/\s+([a-z-]+)="([^"]*)"/gi)) {
      expect(name, tag).not.toMatch(/^on/i);
      if (name === "href" || name === "src")
        expect(value, tag).not.toMatch(
          /^\s*(javascript|vbscript|file|data:(?!image\/(png|gif|jpeg|webp)))/i,
        );
    }
  }
}

describe("raw HTML", () => {
  it.each([
    ["a script tag", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"],
    ["an event handler", "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"],
    [
      "an anchor tag",
      '<a href="https://e.test">a</a>',
      "&lt;a href=&quot;https://e.test&quot;&gt;a&lt;/a&gt;",
    ],
    ["an HTML comment", "<!-- <script> -->", "&lt;!-- &lt;script&gt; --&gt;"],
    [
      "an HTML block",
      "<div>\n<iframe src=//e.test></iframe>\n</div>",
      "&lt;iframe src=//e.test&gt;&lt;/iframe&gt;",
    ],
    ["a svg tag", "<svg onload=alert(1)>", "&lt;svg onload=alert(1)&gt;"],
  ])("escapes %s instead of passing it through", (_what, source, escaped) => {
    const html = renderMarkdown(source);
    expect(html).toContain(escaped);
    inert(html);
  });

  it.each([
    ["numeric entities", "&#60;script&#62;alert(1)&#60;/script&#62;"],
    ["hex entities", "&#x3C;img src=x onerror=alert(1)&#x3E;"],
    ["named entities", "&lt;script&gt;alert(1)&lt;/script&gt;"],
  ])("keeps %s that spell a tag as text, never as markup", (_what, source) => {
    const html = renderMarkdown(source);
    expect(html).toMatch(/^<p>&lt;(script|img)/);
    inert(html);
  });

  it("escapes markup inside inline code and code blocks, and in a fence's info string", () => {
    expect(renderMarkdown("`<b>`")).toBe("<p><code>&lt;b&gt;</code></p>\n");
    const fenced = renderMarkdown('```" onclick="alert(1)\n<script>\n```');
    expect(fenced).toContain("&lt;script&gt;");
    expect(fenced).not.toContain('" onclick="');
    inert(fenced);
  });
});

describe("links and images", () => {
  it.each([
    ["javascript:", "[x](javascript:alert(1))"],
    ["mixed-case JavaScript:", "[x](JaVaScRiPt:alert(1))"],
    ["an entity-encoded javascript:", "[x](&#106;avascript:alert(1))"],
    ["javascript&colon;", "[x](javascript&colon;alert(1))"],
    ["javascript: in angle brackets", "[x](<javascript:alert(1)>)"],
    ["vbscript:", "[x](vbscript:msgbox(1))"],
    ["file:", "[x](file:///etc/passwd)"],
    ["a data: document", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"],
    ["a reference definition to javascript:", "[x][r]\n\n[r]: javascript:alert(1)"],
    ["an autolink to javascript:", "<javascript:alert(1)>"],
    ["an image from javascript:", "![x](javascript:alert(1))"],
    [
      "an SVG data: image (scripts run in SVG)",
      "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    ],
  ])("refuses a link to %s (no href or src at all)", (_what, source) => {
    const html = renderMarkdown(source);
    expect(html).not.toMatch(/<a |<img /);
    inert(html);
  });

  it("percent-encodes a tab or backslash that would split a scheme, so it is no scheme at all", () => {
    expect(renderMarkdown("[x](java&#x09;script:alert(1))")).toContain(
      'href="java%09script:alert(1)"',
    );
    expect(renderMarkdown("[x](/\\evil.test)")).toContain('href="/%5Cevil.test"');
  });

  it("allows raster data: images (markdown-it's rule) and ordinary links", () => {
    expect(renderMarkdown("![chart](data:image/png;base64,iVBORw0KGgo=)")).toBe(
      '<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="chart"></p>\n',
    );
    expect(renderMarkdown("[docs](/docs)")).toBe('<p><a href="/docs">docs</a></p>\n');
    expect(renderMarkdown("[top](#intro)")).toBe('<p><a href="#intro">top</a></p>\n');
  });

  it.each([
    ["a quote in the URL", '[x](https://e.test/"onmouseover="alert(1))'],
    ["a quote in the title", '[x](https://e.test "t\\" onmouseover=alert(1)")'],
    ["a quote in an image's alt", '![a" onerror="alert(1)](https://e.test/i.png)'],
    ["a quote in an autolink", '<https://e.test/"onclick=alert(1)>'],
  ])("never lets %s close the attribute", (_what, source) => {
    const html = renderMarkdown(source);
    // Every attribute value is one quoted string: no raw quote is left inside a value.
    expect(html).not.toMatch(/="[^"]*"[^\s>/]/);
    inert(html);
  });
});

describe("external links", () => {
  it.each([
    ["https", "https://e.test/page"],
    ["http", "http://e.test/page"],
    ["an upper-case scheme", "HTTPS://e.test/page"],
    ["a protocol-relative URL", "//evil.test/page"],
    ["a triple-slash URL (browsers read it as //host)", "///evil.test/page"],
    ["a backslashed scheme", "http:\\\\evil.test"],
    ["another scheme", "ftp://e.test/file"],
    ["mailto:", "mailto:someone@e.test"],
  ])("open %s without an opener or referrer, and nofollow", (_what, href) => {
    expect(renderMarkdown(`[x](${href})`)).toMatch(
      /^<p><a href="[^"]+" rel="noopener noreferrer nofollow">x<\/a><\/p>\n$/,
    );
  });

  it.each([["/docs"], ["docs/page"], ["#intro"], ["?q=1"]])(
    "leave a same-site link %s as it is",
    (href) => {
      expect(renderMarkdown(`[x](${href})`)).not.toContain("rel=");
    },
  );
});

describe("layout", () => {
  it("makes code blocks focusable so keyboard users can scroll them", () => {
    expect(renderMarkdown("```\ncode\n```")).toBe('<pre tabindex="0"><code>code\n</code></pre>\n');
    expect(renderMarkdown("    indented")).toBe(
      '<pre tabindex="0"><code>indented\n</code></pre>\n',
    );
  });

  it("does not turn bare URLs into links or quotes into typographic ones", () => {
    expect(renderMarkdown('see https://e.test "now"')).toBe(
      "<p>see https://e.test &quot;now&quot;</p>\n",
    );
  });
});

describe("summaryOf", () => {
  it("takes the first paragraph that is not a heading, fence, table or quote, as plain text", () => {
    expect(
      summaryOf(
        "# Title\n\n> a quote\n\n| a | b |\n\n```\ncode\n```\n\nThe **first** `real` [paragraph](https://e.test)\nwraps.",
      ),
    ).toBe("The first real paragraph wraps.");
  });

  it("cuts at max characters with an ellipsis", () => {
    const s = summaryOf("word ".repeat(100), 20);
    expect(s).toHaveLength(20);
    expect(s.endsWith("…")).toBe(true);
  });

  it("is empty for a document without a paragraph", () => {
    expect(summaryOf("# Only a heading")).toBe("");
  });
});
