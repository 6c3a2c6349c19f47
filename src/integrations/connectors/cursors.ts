/**
 * Sync cursors of the Salesforce and HubSpot connectors (pure; docs/integrations.md, "Cursors").
 * A cursor stored in a sync row is data from our own database, but it is interpolated into SOQL,
 * so it is parsed strictly here and only what parses reaches a query: a datetime literal
 * re-formatted from a number, and a Salesforce Id of 15 or 18 letters and digits.
 *
 * Salesforce: `<ISO 8601>|<Id>` is the last record delivered in (SystemModstamp, Id) order; the
 * next page is `SystemModstamp > t OR (SystemModstamp = t AND Id > 'id')` ordered by both.
 *
 * HubSpot allows one sort rule, so (lastmodifieddate, id) order is not available in one query. A
 * cursor is either `a<ms>` — every record modified at or before ms is delivered; next: those
 * modified after it, by lastmodifieddate — or `t<ms>.<id>` — everything before ms is delivered and,
 * of the records modified exactly at ms, those with ids up to id; next: the rest of that instant,
 * by hs_object_id (`t<ms>.` : none of that instant yet).
 *
 * A bare timestamp (the format stored before) is read inclusively: Salesforce `>= t`, HubSpot
 * `t<ms>.`; records at that instant are read again and the external-id map absorbs them, and
 * records the old strict `>` skipped at that instant are recovered.
 */

const ISO = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,3})?Z$/;
export const SALESFORCE_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
const SF_ID = SALESFORCE_ID;
export const HUBSPOT_ID = /^[1-9]\d{0,17}$/;
const HS_ID = HUBSPOT_ID;
const MS = /^\d{1,15}$/;

/** Milliseconds of a strict ISO 8601 UTC timestamp that round-trips, else null. */
function isoMs(s: string): number | null {
  if (!ISO.test(s)) return null;
  const ms = Date.parse(s);
  if (!Number.isFinite(ms) || ms < 0) return null;
  // 2025-02-30 parses as March 2nd: refuse what does not name itself.
  const back = new Date(ms).toISOString();
  return back.slice(0, 19) === s.slice(0, 19) ? ms : null;
}

/** A SOQL datetime literal (unquoted), from a number: no text of the cursor reaches SOQL. */
export function soqlDatetime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return ms % 1000 === 0 ? iso.replace(/\.000Z$/, "Z") : iso;
}

/** A SOQL string literal: backslash and quote escaped (the Id is validated before it gets here). */
export function soqlString(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

export type SalesforceCursor =
  | { kind: "start" }
  | { kind: "since"; ms: number } // an old bare timestamp: inclusive
  | { kind: "after"; ms: number; id: string };

/** Anything that is not a cursor we wrote is read as no cursor: a full re-read, absorbed by the external-id map. */
export function parseSalesforceCursor(c: string | null): SalesforceCursor {
  if (!c) return { kind: "start" };
  const bar = c.indexOf("|");
  if (bar < 0) {
    const ms = isoMs(c);
    return ms === null ? { kind: "start" } : { kind: "since", ms };
  }
  const ms = isoMs(c.slice(0, bar));
  const id = c.slice(bar + 1);
  return ms === null || !SF_ID.test(id) ? { kind: "start" } : { kind: "after", ms, id };
}

export function formatSalesforceCursor(modifiedAt: string, id: string): string {
  return `${new Date(modifiedAt).toISOString()}|${id}`;
}

/** The WHERE clause (with its leading space) for a cursor, or "" from the start. */
export function salesforceWhere(c: SalesforceCursor): string {
  if (c.kind === "start") return "";
  const t = soqlDatetime(c.ms);
  if (c.kind === "since") return ` WHERE SystemModstamp >= ${t}`;
  if (!SF_ID.test(c.id)) throw new Error("not a Salesforce Id");
  return ` WHERE SystemModstamp > ${t} OR (SystemModstamp = ${t} AND Id > ${soqlString(c.id)})`;
}

export type HubspotCursor =
  | { kind: "after"; ms: number } // records modified after ms (ms -1: from the start)
  | { kind: "tie"; ms: number; id: string | null }; // the rest of instant ms, ids above id

export function parseHubspotCursor(c: string | null): HubspotCursor {
  if (!c) return { kind: "after", ms: -1 };
  if (MS.test(c)) return { kind: "tie", ms: Number(c), id: null }; // old format, inclusive
  let m = /^a(\d{1,15})$/.exec(c);
  if (m) return { kind: "after", ms: Number(m[1]) };
  m = /^t(\d{1,15})\.(\d*)$/.exec(c);
  if (m && (m[2] === "" || HS_ID.test(m[2]!)))
    return { kind: "tie", ms: Number(m[1]), id: m[2] || null };
  return { kind: "after", ms: -1 };
}

export function formatHubspotCursor(c: HubspotCursor): string {
  return c.kind === "after" ? `a${c.ms}` : `t${c.ms}.${c.id ?? ""}`;
}

/** Id order in HubSpot is numeric (hs_object_id is a number). */
export const hubspotIdLess = (a: string, b: string) =>
  a.length !== b.length ? a.length < b.length : a < b;
