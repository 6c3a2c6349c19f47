/**
 * Which caller paths may reach a plugin (pure). Everything after an installation's endpoint is the
 * plugin's own path — except the lifecycle paths (`/__atoll/…`), which only the platform calls.
 * A path is refused unless its raw form is already canonical, so that no parser between here and
 * the plugin (URL resolution, a router that decodes, a backslash-normalising runtime) can turn it
 * into a lifecycle path or another origin: no empty segments (`//`), no dot segments, no
 * backslashes, no encoded slash, backslash or dot segment, and no first segment that reads
 * `__atoll` in any case or encoding.
 */
import type { Result } from "../contract/result";
export type PluginPath = Result<{ path: string }>;

export const RESERVED_PREFIX = "__atoll";

/** Checks the raw (still percent-encoded) path after the endpoint; "" means "/". */
export function pluginPath(raw: string): PluginPath {
  const path = raw === "" ? "/" : raw;
  if (!path.startsWith("/")) return { ok: false, reason: "the path must start with /" };
  if (path.includes("\\")) return { ok: false, reason: "backslashes are not allowed in paths" };
  const segments = path.slice(1).split("/");
  for (let i = 0; i < segments.length; i++) {
    const raw = segments[i] ?? "";
    if (raw === "" && i < segments.length - 1)
      return { ok: false, reason: "empty path segments (//) are not allowed" };
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: "the path has a malformed percent-encoding" };
    }
    if (/[/\\]/.test(decoded))
      return { ok: false, reason: "encoded slashes and backslashes are not allowed in paths" };
    if (decoded === "." || decoded === "..")
      return { ok: false, reason: "dot segments are not allowed in paths" };
    if (/[\u0000-\u001f\u007f]/.test(decoded))
      return { ok: false, reason: "control characters are not allowed in paths" };
    if (i === 0 && decoded.toLowerCase().startsWith(RESERVED_PREFIX))
      return { ok: false, reason: "the /__atoll paths are the platform's" };
  }
  return { ok: true, path };
}

/**
 * The URL a plugin receives for `path` (already checked) and `search`, on the fixed plugin
 * origin: set as fields, never concatenated, so the origin cannot change.
 */
export function pluginUrl(origin: string, path: string, search = ""): URL {
  const url = new URL(origin);
  url.pathname = path;
  url.search = search;
  return url;
}
