/**
 * What a refund may take back from a developer, pure. Earnings are held before payout for a
 * period that covers the refund window (`DEFAULT_PAYOUT_HOLD_HOURS` unless the operator sets
 * one per listing or per publisher), so a refund asked for within it is always covered by the
 * sale's own share. Later, a publisher can refund only what its balance can recover: what the
 * platform still owes it (held or available, not yet paid out) less refunds in progress. An
 * operator's (or the payment provider's) refund cannot be refused: the part of the developer's
 * share the balance cannot cover is the platform's loss, booked to `refund_losses:CUR`.
 */
import type { Result } from "../contract/result";

/** The default payout hold: 14 days, the refund window buyers are told about. */
export const DEFAULT_PAYOUT_HOLD_HOURS = 14 * 24;
/** The longest hold an operator may set: a year. */
export const MAX_PAYOUT_HOLD_HOURS = 366 * 24;
const HOUR_MS = 3_600_000;

/** The hold of a sale's earnings: the listing's own, else its publisher's, else the default. */
export function payoutHoldHours(
  listingHours: number | null,
  publisherHours: number | null,
): number {
  return listingHours ?? publisherHours ?? DEFAULT_PAYOUT_HOLD_HOURS;
}

/** When a sale made at `now` becomes payable. */
export function availableAt(now: number, holdHours: number): number {
  return now + holdHours * HOUR_MS;
}

export type Recovery = Result<
  { recovered: number; loss: number },
  { reason: "exceeds-balance"; recoverable: number }
>;

/**
 * How a refund's developer share is covered, given the developer's recoverable balance (which
 * may be negative). A publisher's refund must be covered in full; a forced one recovers what it
 * can and books the rest as a loss.
 *
 * @example refundRecovery(2610, 900, false) // { ok: false, reason: "exceeds-balance", recoverable: 900 }
 * @example refundRecovery(2610, 900, true)  // { ok: true, recovered: 900, loss: 1710 }
 */
export function refundRecovery(share: number, recoverable: number, forced: boolean): Recovery {
  if (!Number.isSafeInteger(share) || share < 0 || !Number.isSafeInteger(recoverable))
    throw new RangeError("share and recoverable are integers of minor units");
  if (share <= recoverable) return { ok: true, recovered: share, loss: 0 };
  if (!forced)
    return { ok: false, reason: "exceeds-balance", recoverable: Math.max(0, recoverable) };
  const recovered = Math.max(0, recoverable);
  return { ok: true, recovered, loss: share - recovered };
}
