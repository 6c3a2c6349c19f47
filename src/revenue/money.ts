/**
 * Money arithmetic: integer minor units with an ISO 4217 currency, never floats. Pure: no I/O,
 * so it can be reviewed and tested alone. Every split conserves its total to the minor unit.
 * Currencies themselves (codes, exponents, minimum charges) are part of the plugin contract.
 */
import {
  MAX_AMOUNT,
  exponent,
  format,
  isAmount,
  isCurrency,
  minimumCharge,
} from "../contract/currency";

export { MAX_AMOUNT, exponent, format, isAmount, isCurrency, minimumCharge };

/** Basis points in one whole: 10,000 bps = 100%. */
export const BPS = 10_000;
/** The platform fee when neither the listing nor its publisher has its own: 10% (the sketch's 0.1). */
export const DEFAULT_FEE_BPS = 1_000;

/** Rounds n / d to the nearest integer, halves up (n ≥ 0, d > 0, both integers). */
function divRound(n: number, d: number): number {
  return Math.floor((2 * n + d) / (2 * d));
}

export interface Split {
  /** The platform's fee. */
  fee: number;
  /** What the developer earns: amount − fee. */
  share: number;
}

/**
 * Splits a sale between the platform (feeBps) and the developer. The fee is rounded half-up and
 * the developer gets the rest, so fee + share === amount always (a 1-cent sale still balances).
 *
 * @example splitSale(2900, 1000) // { fee: 290, share: 2610 }
 */
export function splitSale(amount: number, feeBps: number): Split {
  if (!isAmount(amount))
    throw new RangeError("amount must be a non-negative integer of minor units");
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > BPS)
    throw new RangeError("feeBps must be an integer from 0 to 10000");
  const fee = divRound(amount * feeBps, BPS);
  return { fee, share: amount - fee };
}

/**
 * The part of a refund that comes back out of the platform's fee, computed cumulatively so that
 * partial refunds add up exactly: after refunds totalling `refundedBefore + refund`, the fee
 * refunded in total is round(fee × refundedTotal / amount); a full refund returns the whole fee.
 */
export function splitRefund(
  sale: { amount: number; fee: number },
  refundedBefore: { amount: number; fee: number },
  refund: number,
): Split {
  if (!isAmount(refund) || refund === 0)
    throw new RangeError("refund must be a positive integer of minor units");
  const total = refundedBefore.amount + refund;
  if (total > sale.amount) throw new RangeError("refunds cannot exceed the sale");
  const feeTotal = total === sale.amount ? sale.fee : divRound(sale.fee * total, sale.amount);
  const fee = feeTotal - refundedBefore.fee;
  return { fee, share: refund - fee };
}

/**
 * What usage costs: `price` per `per` calls, billed cumulatively — the total owed after `calls`
 * calls is floor(calls × price / per); each bill charges the difference from what was billed
 * before, so no fraction of a minor unit is ever lost or charged twice.
 */
export function usageOwed(calls: number, price: number, per: number): number {
  if (!Number.isSafeInteger(calls) || calls < 0)
    throw new RangeError("calls must be a non-negative integer");
  if (!Number.isSafeInteger(per) || per < 1) throw new RangeError("per must be a positive integer");
  // BigInt: calls × price may exceed 2^53 for a busy plugin.
  return Number((BigInt(calls) * BigInt(price)) / BigInt(per));
}
