/** Marketplace pure helpers: listing fields from a manifest, search query syntax, cursors. */
import { fromBase64Url, toBase64Url, utf8 } from "../platform/crypto/encoding";
import type { Manifest } from "../contract/manifest";

export const SEARCH_LIMITS = {
  defaultLimit: 20,
  maxLimit: 50,
  maxOffset: 10_000,
  maxQueryLength: 200,
} as const;

/** The listing's display fields, from the latest published version's manifest (and README). */
export function listingFields(manifest: Manifest, readme: string | null) {
  const short = manifest.name.split("/")[1] ?? manifest.name;
  return {
    displayName:
      manifest.displayName ??
      short
        .split(/[-_.]/)
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join(" "),
    summary: manifest.description,
    description: readme ?? manifest.description,
    category: manifest.category,
    keywords: manifest.keywords.join(" "),
    icon: manifest.icon ?? null,
    homepage: manifest.homepage ?? null,
    pricing: JSON.stringify(manifest.pricing),
    pricingModel: manifest.pricing.model,
  };
}

/**
 * Turns what a user typed into an FTS5 query that cannot be a syntax error or an injection: each
 * word becomes a quoted prefix term, all required (AND). Returns null when nothing searchable
 * remains.
 */
export function ftsQuery(q: string): string | null {
  const words = q
    .normalize("NFKC")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
    .slice(0, 10);
  if (words.length === 0) return null;
  return words.map((w) => `"${w}"*`).join(" ");
}

/** Opaque pagination cursor (an offset into the ordered result, tied to the query). */
export function encodeCursor(offset: number, fingerprint: string): string {
  return toBase64Url(utf8(JSON.stringify({ o: offset, f: fingerprint })));
}

export function decodeCursor(cursor: string, fingerprint: string): number | null {
  try {
    const value = JSON.parse(new TextDecoder().decode(fromBase64Url(cursor))) as {
      o?: unknown;
      f?: unknown;
    };
    if (
      typeof value.o !== "number" ||
      !Number.isInteger(value.o) ||
      value.o < 0 ||
      value.o > SEARCH_LIMITS.maxOffset
    )
      return null;
    if (value.f !== fingerprint) return null;
    return value.o;
  } catch {
    return null;
  }
}

/**
 * A name's visual skeleton: lower-case, separators dropped, look-alike characters folded
 * (0→o, 1/i→l, 3→e, 5→s, rn→m, vv→w). Two listings with one skeleton are confusable.
 */
export function nameSkeleton(name: string): string {
  return name
    .toLowerCase()
    .replace(/[@/._-]/g, "")
    .replace(/rn/g, "m")
    .replace(/vv/g, "w")
    .replace(/0/g, "o")
    .replace(/[1i]/g, "l")
    .replace(/3/g, "e")
    .replace(/5/g, "s");
}

/** Letters of other scripts drawn like Latin ones (Cyrillic, Greek), folded before comparing. */
const LOOKALIKES: Readonly<Record<string, string>> = {
  а: "a",
  в: "b",
  е: "e",
  ё: "e",
  к: "k",
  м: "m",
  н: "h",
  о: "o",
  р: "p",
  с: "c",
  т: "t",
  у: "y",
  х: "x",
  ѕ: "s",
  і: "i",
  ї: "i",
  ј: "j",
  ԁ: "d",
  ɡ: "g",
  ո: "n",
  ս: "u",
  α: "a",
  β: "b",
  ε: "e",
  η: "n",
  ι: "i",
  κ: "k",
  μ: "u",
  ν: "v",
  ο: "o",
  ρ: "p",
  τ: "t",
  υ: "u",
  χ: "x",
  ω: "w",
};

/**
 * A display name's visual skeleton: compatibility-normalised, accents and other marks dropped,
 * look-alike letters of other scripts folded to Latin, everything but letters and digits dropped,
 * then folded like package names. "Advanced Analytics", "advanced-analytics" and
 * "Аdvаnced Αnalytіcs" (Cyrillic and Greek letters) share one. Empty for a name with no letters.
 *
 * @example displaySkeleton("Advanced Analytics") === displaySkeleton("ADVANCED  ANALYT1CS") // true
 */
export function displaySkeleton(displayName: string): string {
  const folded = [...displayName.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()]
    .map((ch) => LOOKALIKES[ch] ?? ch)
    .join("");
  return nameSkeleton(folded.replace(/[^a-z0-9]/g, ""));
}
