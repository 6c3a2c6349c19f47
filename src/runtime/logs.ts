/**
 * A plugin's console output and uncaught exceptions, as its owner may read them (pure: no I/O).
 *
 * Each backend hands the platform the Workers runtime's trace of one invocation (`TraceItem`s: a
 * Worker Loader `tails` entrypoint, the plugin host's forward, or the dispatch namespace's tail
 * consumer). This module turns them into bounded, redacted records:
 * - every value of the installation's secrets is replaced wherever it appears (raw, JSON-escaped,
 *   URL-encoded), and so are credential shapes a plugin may meet: Atoll API keys, JWTs, bearer and
 *   basic credentials, `password=…`-style pairs;
 * - a record's message is at most MAX_MESSAGE characters and its stack MAX_STACK (redacted first,
 *   then cut, so no fragment of a secret survives a cut);
 * - one invocation keeps at most MAX_RECORDS records; the rest are counted in a last record.
 */
import { API_KEY_PREFIX } from "../access/tokens/api-key";
import type { PluginSpec } from "./spec";

export const LOG_LEVELS = ["debug", "log", "info", "warn", "error", "exception"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogRecord {
  /** Milliseconds since the epoch. */
  at: number;
  level: LogLevel;
  message: string;
  stack?: string;
}

export const MAX_MESSAGE = 2_000;
export const MAX_STACK = 4_000;
export const MAX_RECORDS = 100;
export const REDACTED = "[redacted]";

/** The shape of one trace item this module reads (a subset of the runtime's `TraceItem`). */
export interface TraceLike {
  eventTimestamp?: number | null;
  outcome?: string;
  logs?: readonly { timestamp: number; level: string; message: unknown }[];
  exceptions?: readonly { timestamp: number; name: string; message: string; stack?: string }[];
}

/**
 * Longest input redacted for one message (or stack): a line is cut to this first, and a secret
 * cut in half at its end is caught by the tail check below. With the shapes linear, redacting
 * one invocation is bounded by MAX_RECORDS × MAX_INPUT characters.
 */
const MAX_INPUT = 8_000;

/** The names whose value is a credential, in `name: value` / `name=value` pairs and label-value arguments. */
const SENSITIVE_NAME =
  "pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|auth(?:orization)?|client[_-]?secret|private[_-]?key|credentials?";

/**
 * Credential shapes, each linear in its input: every quantifier is bounded by a character class
 * the next part cannot start with, and the token-shaped ones (API keys, JWTs) are found by one
 * scan over word-like runs rather than a pattern that retries at every offset.
 */
const PAIR = new RegExp(
  String.raw`((?:${SENSITIVE_NAME})\\*["']?[ \t]{0,8}[:=][ \t]{0,8}\\*["']?)[^\s"'&,;}\\]+`,
  "gi",
);
const SCHEME = /\b(?:Bearer|Basic|Token)[ \t]{1,8}[A-Za-z0-9._~+/=-]+/gi;
const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]*$/;
const API_KEY = new RegExp(`^${API_KEY_PREFIX}[A-Za-z0-9]{8,}$`);
const LABEL = new RegExp(String.raw`^\s*["']?(?:${SENSITIVE_NAME})["']?\s*[:=]?\s*$`, "i");

/** Every string leaf of a value (a write-only object's members are secrets one by one too). */
function leaves(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 8 || out.length > 200) return out;
  if (typeof v === "string") out.push(v);
  else if (typeof v === "number" || typeof v === "boolean") out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) leaves(x, out, depth + 1);
  else if (v && typeof v === "object") for (const x of Object.values(v)) leaves(x, out, depth + 1);
  return out;
}

/** The values a plugin's log lines must never show: its secrets and write-only settings. */
export function secretValuesOf(
  spec: Pick<PluginSpec, "secrets" | "config" | "sealedConfig">,
): string[] {
  const sealed = (spec.sealedConfig ?? []).map((k) => spec.config[k]);
  return [...Object.values(spec.secrets), ...sealed].flatMap((v) => {
    if (v === undefined || v === null) return [];
    if (typeof v === "string") return [v];
    // A whole object or array, and each of its members (numbers and booleans of 4+ characters).
    return [JSON.stringify(v), ...leaves(v).filter((x) => x.length >= 4)];
  });
}

/** The forms a secret takes in text: raw, trimmed, JSON-escaped (once, twice), URL-encoded. */
function formsOf(secret: string): string[] {
  const forms = new Set<string>();
  for (const s of [secret, secret.trim()]) {
    if (s.length === 0) continue;
    const json = JSON.stringify(s).slice(1, -1);
    forms.add(s);
    forms.add(json);
    forms.add(JSON.stringify(json).slice(1, -1));
    forms.add(encodeURIComponent(s));
    forms.add(new URLSearchParams({ k: s }).toString().slice(2));
  }
  return [...forms];
}

/** Replaces each secret value and each credential shape in `text`. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  // Longest first, so a secret containing another is replaced whole.
  const needles = [...new Set(secrets.flatMap(formsOf))].sort((a, b) => b.length - a.length);
  return (input) => {
    const cut = input.length > MAX_INPUT;
    let out = cut ? input.slice(0, MAX_INPUT) : input;
    for (const n of needles) out = out.split(n).join(REDACTED);
    // A secret cut in half at the end of a cut line: its first part must not survive either.
    if (cut)
      for (const n of needles)
        for (let k = Math.min(n.length - 1, out.length); k >= 4; k--)
          if (out.endsWith(n.slice(0, k))) {
            out = out.slice(0, out.length - k) + REDACTED;
            break;
          }
    // Schemes first: "Authorization: Bearer …" is the token, not the word "Bearer".
    out = out.replace(SCHEME, REDACTED);
    out = out.replace(PAIR, (_m, prefix: string) => `${prefix}${REDACTED}`);
    // Token-shaped credentials: one pass over the word-like runs.
    out = out.replace(/[\w.-]+/g, (run) => (JWT.test(run) || API_KEY.test(run) ? REDACTED : run));
    return out;
  };
}

function format(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return `${value}n`;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * A console call's arguments as one line (the runtime passes them as an array). An argument that
 * follows a label naming a credential (`console.log("password", pw)`) is redacted here.
 */
export function formatMessage(message: unknown): string {
  const parts = Array.isArray(message) ? message : [message];
  const out: string[] = [];
  let length = 0;
  for (let i = 0; i < parts.length && length <= MAX_INPUT; i++) {
    const prev = parts[i - 1];
    const text =
      i > 0 && typeof prev === "string" && LABEL.test(prev) ? REDACTED : format(parts[i]);
    out.push(text);
    length += text.length + 1;
  }
  // Bounded before redaction; the redactor handles a secret cut at the end.
  return out.join(" ").slice(0, MAX_INPUT + 1);
}

function level(raw: string): LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(raw) ? (raw as LogLevel) : "log";
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A timestamp a record may carry: within a day of now (a trace arrives just after its
 * invocation), else `fallback` — a time far off would sort wrongly, outlive or precede the
 * age bound, or not print.
 */
function timeOf(t: unknown, fallback: number): number {
  const now = Date.now();
  return typeof t === "number" && Number.isFinite(t) && Math.abs(t - now) < 86_400_000
    ? t
    : fallback;
}

/**
 * Whether a trace holds anything logRecords would keep: console output, an exception, or an end
 * other than "ok"/"exception". Most calls of a quiet plugin hold nothing, and the backends skip
 * those before any work (the plugin host before a hop to the gateway).
 */
export function traceHasRecords(items: readonly TraceLike[]): boolean {
  return items.some(
    (item) =>
      (item.logs?.length ?? 0) > 0 ||
      (item.exceptions?.length ?? 0) > 0 ||
      (item.outcome !== undefined && item.outcome !== "ok" && item.outcome !== "exception"),
  );
}

/**
 * The records of one batch of trace items, redacted and bounded, in the order they happened. Over
 * the bound, exceptions and errors are kept before ordinary lines: they are what a developer looks
 * for. Records are chosen before they are redacted, so the work is bounded by what is kept.
 */
export function logRecords(items: readonly TraceLike[], secrets: readonly string[]): LogRecord[] {
  const now = Date.now();
  // Raw (unredacted) records, their text already bounded.
  const all: LogRecord[] = [];
  for (const item of items) {
    const at = timeOf(item.eventTimestamp, now);
    const lines: LogRecord[] = [];
    for (const log of item.logs ?? []) {
      if (lines.length > MAX_RECORDS * 50) break;
      lines.push({
        at: timeOf(log.timestamp, at),
        level: level(log.level),
        message: formatMessage(log.message),
      });
    }
    for (const ex of (item.exceptions ?? []).slice(0, MAX_RECORDS))
      lines.push({
        at: timeOf(ex.timestamp, at),
        level: "exception",
        message: `${String(ex.name).slice(0, 200)}: ${String(ex.message).slice(0, MAX_INPUT + 1)}`,
        ...(ex.stack ? { stack: String(ex.stack).slice(0, MAX_INPUT + 1) } : {}),
      });
    // Stable: lines with one timestamp (the runtime's clock stands still while code runs) keep
    // their order; the outcome comes last.
    all.push(...lines.sort((a, b) => a.at - b.at));
    if (item.outcome && item.outcome !== "ok" && item.outcome !== "exception")
      all.push({
        at,
        level: "error",
        message: `the invocation ended: ${String(item.outcome).slice(0, 64)}`,
      });
  }
  let kept = all;
  if (all.length > MAX_RECORDS) {
    const serious = (r: LogRecord) => r.level === "exception" || r.level === "error";
    const keep = new Set(all.filter(serious).slice(0, MAX_RECORDS - 1));
    for (const r of all) if (keep.size < MAX_RECORDS - 1) keep.add(r);
    kept = all.filter((r) => keep.has(r));
    kept.push({
      at: (all[all.length - 1] as LogRecord).at,
      level: "warn",
      message: `${all.length - kept.length} more records of this invocation were dropped (at most ${MAX_RECORDS} are kept)`,
    });
  }
  const redact = redactor(secrets);
  return kept.map((r) => ({
    ...r,
    message: cut(redact(r.message), MAX_MESSAGE),
    ...(r.stack ? { stack: cut(redact(r.stack), MAX_STACK) } : {}),
  }));
}
