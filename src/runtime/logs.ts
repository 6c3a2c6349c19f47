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

const CREDENTIAL_SHAPES: RegExp[] = [
  new RegExp(`${API_KEY_PREFIX}[A-Za-z0-9]{8,}`, "g"),
  /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g,
  /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+/gi,
  /((?:pass(?:word|wd)?|secret|token|api[_-]?key|access[_-]?key|authorization|client[_-]?secret|private[_-]?key)["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi,
];

/** The values a plugin's log lines must never show: its secrets and write-only settings. */
export function secretValuesOf(
  spec: Pick<PluginSpec, "secrets" | "config" | "sealedConfig">,
): string[] {
  const sealed = (spec.sealedConfig ?? []).map((k) => spec.config[k]);
  return [...Object.values(spec.secrets), ...sealed].flatMap((v) =>
    typeof v === "string" ? [v] : v === undefined || v === null ? [] : [JSON.stringify(v)],
  );
}

/** Replaces each secret value and each credential shape in `text`. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length === 0) continue;
    needles.add(s);
    needles.add(JSON.stringify(s).slice(1, -1));
    needles.add(encodeURIComponent(s));
  }
  // Longest first, so a secret containing another is replaced whole.
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const n of ordered) out = out.split(n).join(REDACTED);
    for (const shape of CREDENTIAL_SHAPES)
      out = out.replace(shape, (match, prefix: unknown) =>
        typeof prefix === "string" && /[:=]/.test(prefix) ? `${prefix}${REDACTED}` : REDACTED,
      );
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

/** A console call's arguments as one line (the runtime passes them as an array). */
export function formatMessage(message: unknown): string {
  const parts = Array.isArray(message) ? message : [message];
  // Bound the work before redacting: a plugin may log megabytes.
  return parts
    .map(format)
    .join(" ")
    .slice(0, MAX_MESSAGE * 4);
}

function level(raw: string): LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(raw) ? (raw as LogLevel) : "log";
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The records of one batch of trace items, redacted and bounded, in the order they happened. Over
 * the bound, exceptions and errors are kept before ordinary lines: they are what a developer looks for.
 */
export function logRecords(items: readonly TraceLike[], secrets: readonly string[]): LogRecord[] {
  const redact = redactor(secrets);
  const all: LogRecord[] = [];
  for (const item of items) {
    const at = item.eventTimestamp ?? Date.now();
    const lines: LogRecord[] = [];
    for (const log of item.logs ?? [])
      lines.push({
        at: log.timestamp || at,
        level: level(log.level),
        message: cut(redact(formatMessage(log.message)), MAX_MESSAGE),
      });
    for (const ex of item.exceptions ?? [])
      lines.push({
        at: ex.timestamp || at,
        level: "exception",
        message: cut(redact(`${ex.name}: ${ex.message}`), MAX_MESSAGE),
        ...(ex.stack ? { stack: cut(redact(ex.stack.slice(0, MAX_STACK * 4)), MAX_STACK) } : {}),
      });
    // Stable: lines with one timestamp (the runtime's clock stands still while code runs) keep
    // their order; the outcome comes last.
    all.push(...lines.sort((a, b) => a.at - b.at));
    if (item.outcome && item.outcome !== "ok" && item.outcome !== "exception")
      all.push({ at, level: "error", message: `the invocation ended: ${item.outcome}` });
  }
  if (all.length <= MAX_RECORDS) return all;
  const serious = (r: LogRecord) => r.level === "exception" || r.level === "error";
  const keep = new Set(all.filter(serious).slice(0, MAX_RECORDS - 1));
  for (const r of all) if (keep.size < MAX_RECORDS - 1) keep.add(r);
  const kept = all.filter((r) => keep.has(r));
  kept.push({
    at: (all[all.length - 1] as LogRecord).at,
    level: "warn",
    message: `${all.length - kept.length} more records of this invocation were dropped (at most ${MAX_RECORDS} are kept)`,
  });
  return kept;
}
