/**
 * Sliding-window token accounting (pure). The Durable Object holds one `WindowState` per route
 * class and calls `grant` for each lease request; nothing else decides how many requests are
 * admitted, so the count is exact however many isolates ask at once.
 *
 * The promise: in ANY interval of `windowMs` (not only aligned ones), at most `limit` requests are
 * admitted. Fixed windows let a client spend the quota at the end of one window and again at the
 * start of the next (twice the quota in one window's length); this does not.
 *
 * How, with leases: every grant is a record `{id, end, count}`: `count` tokens that an isolate may
 * spend from the moment of the grant until `end` (the lease's expiry). Two spends can fall in one
 * window only if the earlier record's `end` is less than `windowMs` before the later grant, so a
 * new grant counts every record with `end > now - windowMs` and never lets their sum pass `limit`.
 * (For any window, take the last record granted that spent in it: every other record spending in
 * it ended after the window began, which is after that grant minus `windowMs`, so it was counted.)
 *
 * When an isolate renews a lease it hands the old one back: its unspent tokens leave the record
 * and the record ends now (the isolate spends nothing more from it). Records are bounded: past
 * `MAX_RECORDS` the two that end first merge (later end, summed count, a new id nobody holds), which
 * only over-counts.
 */
import { z } from "zod";

export const MAX_RECORDS = 64;
/** A lease lives at most this long, whatever an isolate asks (bounds how long a record counts). */
export const MAX_LEASE_MS = 10_000;

const Record_ = z.object({
  id: z.number().int().nonnegative(),
  end: z.number().finite(),
  count: z.number().int().positive(),
  /** The window it was granted under: it counts for at least that long after its end. */
  w: z.number().finite().nonnegative().default(0),
});
export type GrantRecord = z.infer<typeof Record_>;

const State = z.object({
  seq: z.number().int().nonnegative(),
  records: z.array(Record_).max(MAX_RECORDS),
});
export type WindowState = z.infer<typeof State>;

/** The fixed-window counter stored before sliding windows, still read once after a deploy. */
const LegacyState = z.object({ windowStart: z.number().finite(), granted: z.number().int() });

/**
 * Reads a stored state. A legacy fixed-window counter becomes one record ending with its window
 * (its tokens keep counting as long as they could have been spent). Anything unreadable counts as
 * the whole quota for one window (fail closed: a corrupt row never hands out a fresh quota).
 * Either way ids restart at the clock's millisecond, above any counter an old lease could hold.
 */
export function readState(
  stored: unknown,
  limit: number,
  windowMs: number,
  now: number,
): WindowState {
  if (stored === undefined || stored === null) return { seq: 0, records: [] };
  const current = State.safeParse(stored);
  if (current.success) return current.data;
  const legacy = LegacyState.safeParse(stored);
  if (legacy.success) {
    const count = Math.min(limit, Math.max(0, legacy.data.granted));
    const end = legacy.data.windowStart + windowMs;
    const id = Math.floor(Math.max(0, now));
    return { seq: id, records: count > 0 ? [{ id, end, count, w: windowMs }] : [] };
  }
  // Ids restart above any a counter could have reached, so no old lease matches a new record.
  const id = Math.floor(Math.max(0, now));
  return { seq: id, records: [{ id, end: now, count: Math.max(1, limit), w: windowMs }] };
}

export interface GrantRequest {
  limit: number;
  windowMs: number;
  want: number;
  /** How long the isolate will spend this lease (capped at MAX_LEASE_MS). */
  leaseMs: number;
  /** The lease the isolate stops spending: its id and the tokens it did not spend. */
  release?: { id: number; unspent: number } | null;
}

export interface GrantResult {
  state: WindowState;
  granted: number;
  /** The lease's id (to hand back later); 0 when nothing was granted. */
  leaseId: number;
  /** Tokens still grantable now after this grant. */
  remaining: number;
  /** When quota next comes back: the first counted record leaves the window then. */
  resetAt: number;
}

export function grant(prev: WindowState | null, req: GrantRequest, now: number): GrantResult {
  const windowMs = Math.max(1, req.windowMs);
  const leaseMs = Math.min(MAX_LEASE_MS, Math.max(0, req.leaseMs));
  let records = (prev?.records ?? []).map((r) => ({ ...r }));
  let seq = prev?.seq ?? 0;

  const release = req.release;
  if (release) {
    const held = records.find((r) => r.id === release.id);
    if (held) {
      held.count -= Math.min(held.count, Math.max(0, Math.floor(release.unspent)));
      held.end = Math.min(held.end, now);
      // Handed back once: under a fresh id, a second hand-back of the same lease finds nothing.
      seq += 1;
      held.id = seq;
    }
  }
  // A record stops counting once its last possible spend is a whole window ago — the longer of
  // this request's window and its own, so a call under a shorter window (a route whose new
  // version declares one) cannot erase what a longer one still counts.
  records = records.filter((r) => r.count > 0 && r.end > now - Math.max(windowMs, r.w));

  const used = records.reduce((n, r) => n + r.count, 0);
  const available = Math.max(0, req.limit - used);
  const give = Math.min(available, Math.max(0, Math.floor(req.want)));
  let leaseId = 0;
  if (give > 0) {
    seq += 1;
    leaseId = seq;
    records.push({ id: leaseId, end: now + leaseMs, count: give, w: windowMs });
  }
  records.sort((a, b) => a.end - b.end || a.id - b.id);
  while (records.length > MAX_RECORDS) {
    const [a, b] = records.splice(0, 2) as [GrantRecord, GrantRecord];
    // A merged record gets a fresh id: handing back one of its leases must not end the other.
    seq += 1;
    records.unshift({
      id: seq,
      end: Math.max(a.end, b.end),
      count: a.count + b.count,
      w: Math.max(a.w, b.w),
    });
    records.sort((x, y) => x.end - y.end || x.id - y.id);
  }
  const first = records[0];
  // Handing a lease back trusts the caller to be the isolate that holds it: only the platform's
  // own isolates call the Durable Object, each handing back only leases it was granted.
  return {
    state: { seq, records },
    granted: give,
    leaseId,
    remaining: available - give,
    resetAt: first ? first.end + Math.max(windowMs, first.w) : now + windowMs,
  };
}
