/**
 * Markdown to safe HTML for tutorials: markdown-it with raw HTML disabled (any tag in the source
 * is escaped, never passed through), its link validation (javascript:, vbscript:, file: and data:
 * URLs other than images are refused), and external links (any other scheme or origin, as a
 * browser resolves the href) opened without an opener or referrer, and nofollow.
 */
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });

const defaultLinkOpen =
  md.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  if (token && isExternal(token.attrGet("href") ?? "")) {
    token.attrSet("rel", "noopener noreferrer nofollow");
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/**
 * Whether a link leaves the page's site, as a browser resolves it: any other scheme or origin,
 * including the forms a prefix check misses (`//host`, `///host`, `http:\\host`). An href the
 * URL parser refuses counts as external.
 */
function isExternal(href: string): boolean {
  const base = "https://same-site.invalid/";
  return URL.parse(href, base)?.origin !== new URL(base).origin;
}

/** Code blocks scroll sideways: they are focusable so keyboard users can scroll them (WCAG). */
export function renderMarkdown(source: string): string {
  return md.render(source).replace(/<pre>/g, '<pre tabindex="0">');
}

/** The first paragraph as plain text, for listings. */
export function summaryOf(source: string, max = 240): string {
  const para = source
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .find(
      (p) =>
        p && !p.startsWith("#") && !p.startsWith("```") && !p.startsWith("|") && !p.startsWith(">"),
    );
  const text = (para ?? "")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*_]/g, "")
    .replace(/\s+/g, " ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
