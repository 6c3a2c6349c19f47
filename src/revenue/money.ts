/**
 * Money arithmetic: integer minor units with an ISO 4217 currency, never floats. Pure: no I/O,
 * so it can be reviewed and tested alone. Every split conserves its total to the minor unit.
 */

/** ISO 4217 currencies whose minor unit is not 2 decimals (the rest of CURRENCIES have 2). */
const EXPONENTS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** Active ISO 4217 codes (fund and metal codes excluded). */
const CURRENCIES = new Set(
  (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC " +
    "CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD " +
    "JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO " +
    "NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS " +
    "TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG"
  ).split(" "),
);

/** Basis points in one whole: 10,000 bps = 100%. */
export const BPS = 10_000;
/** The platform fee when neither the listing nor its publisher has its own: 10% (the sketch's 0.1). */
export const DEFAULT_FEE_BPS = 1_000;
/** The largest amount one operation moves (a million dollars in cents); keeps products exact. */
export const MAX_AMOUNT = 100_000_000;

export function isCurrency(code: string): boolean {
  return CURRENCIES.has(code);
}

/** Decimal places of the currency's minor unit: JPY 0, USD 2, KWD 3. */
export function exponent(currency: string): number {
  if (!isCurrency(currency)) throw new RangeError(`unknown currency ${currency}`);
  return EXPONENTS[currency] ?? 2;
}

/** A valid amount: a non-negative safe integer no larger than MAX_AMOUNT. */
export function isAmount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= MAX_AMOUNT;
}

/**
 * The smallest charge the payment provider accepts, in minor units (Stripe's rule: about half a
 * dollar): 50 of a 0- or 2-decimal currency, 500 of a 3-decimal one.
 */
export function minimumCharge(currency: string): number {
  const e = exponent(currency);
  return e <= 2 ? 50 : 50 * 10 ** (e - 2);
}

/** "29.00 USD", "500 JPY", "1.250 KWD": for statements and CSV, never for arithmetic. */
export function format(amount: number, currency: string): string {
  const e = exponent(currency);
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  if (e === 0) return `${sign}${abs} ${currency}`;
  const unit = 10 ** e;
  return `${sign}${Math.floor(abs / unit)}.${String(abs % unit).padStart(e, "0")} ${currency}`;
}

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
  if (!isAmount(amount)) throw new RangeError("amount must be a non-negative integer of minor units");
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > BPS) throw new RangeError("feeBps must be an integer from 0 to 10000");
  const fee = divRound(amount * feeBps, BPS);
  return { fee, share: amount - fee };
}

/**
 * The part of a refund that comes back out of the platform's fee, computed cumulatively so that
 * partial refunds add up exactly: after refunds totalling `refundedBefore + refund`, the fee
 * refunded in total is round(fee × refundedTotal / amount); a full refund returns the whole fee.
 */
export function splitRefund(sale: { amount: number; fee: number }, refundedBefore: { amount: number; fee: number }, refund: number): Split {
  if (!isAmount(refund) || refund === 0) throw new RangeError("refund must be a positive integer of minor units");
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
  if (!Number.isSafeInteger(calls) || calls < 0) throw new RangeError("calls must be a non-negative integer");
  if (!Number.isSafeInteger(per) || per < 1) throw new RangeError("per must be a positive integer");
  // BigInt: calls × price may exceed 2^53 for a busy plugin.
  return Number((BigInt(calls) * BigInt(price)) / BigInt(per));
}
