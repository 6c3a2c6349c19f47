/**
 * The one result shape of every check at a trust boundary (manifests, packages, permissions,
 * signatures, sealed messages, egress, paths, tokens): a discriminated union on `ok`, with the
 * success's facts or the refusal's reason as fields beside it, so a caller must look at `ok`
 * before it can read either. Checks return results; they never throw for a refusal.
 *
 * @example
 * type Verdict = Result<{ timestamp: number }, { reason: "missing" | "mismatch" }>;
 * const v: Verdict = good ? ok({ timestamp }) : err({ reason: "mismatch" });
 */
/** No fields beside `ok`. */
export type NoFields = Record<never, never>;

export type Result<T extends object = NoFields, E extends object = { reason: string }> =
  ({ ok: true } & T) | ({ ok: false } & E);

/** A success carrying `fields`. */
export function ok(): { ok: true };
export function ok<T extends object>(fields: T): { ok: true } & T;
export function ok<T extends object>(fields?: T): { ok: true } & T {
  return { ok: true, ...(fields as T) };
}

/** A refusal carrying `fields` (at least why). */
export function err<E extends object>(fields: E): { ok: false } & E {
  return { ok: false, ...fields };
}
