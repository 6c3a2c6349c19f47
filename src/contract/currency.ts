/**
 * Currencies as the plugin contract and the ledger use them: ISO 4217 codes, the decimals of
 * each minor unit, the smallest charge. Amounts are integer minor units, never floats. Pure.
 */

/** ISO 4217 currencies whose minor unit is not 2 decimals (the rest of CURRENCIES have 2). */
const EXPONENTS: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
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
