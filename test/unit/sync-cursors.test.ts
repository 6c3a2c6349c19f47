/** The Salesforce and HubSpot sync cursors (src/integrations/connectors/cursors.ts): strict parsing, no SOQL injection. */
import { describe, expect, it } from "vitest";
import {
  formatHubspotCursor,
  formatSalesforceCursor,
  hubspotIdLess,
  parseHubspotCursor,
  parseSalesforceCursor,
  salesforceWhere,
  soqlDatetime,
  soqlString,
} from "../../src/integrations/connectors/cursors";
import type { z } from "zod";
import { hubspot } from "../../src/integrations/connectors/hubspot";
import { salesforce } from "../../src/integrations/connectors/salesforce";
import type { Call, ChangedPage } from "../../src/integrations/connectors/types";

const ID = "003aB00000XyZ12AAA";
const MS = Date.parse("2025-03-01T10:00:00.250Z");

describe("Salesforce cursors", () => {
  it("round-trips the last record delivered into the tie-breaking clause", () => {
    const c = formatSalesforceCursor("2025-03-01T10:00:00.250Z", ID);
    expect(c).toBe(`2025-03-01T10:00:00.250Z|${ID}`);
    expect(parseSalesforceCursor(c)).toEqual({ kind: "after", ms: MS, id: ID });
    expect(salesforceWhere(parseSalesforceCursor(c))).toBe(
      ` WHERE SystemModstamp > 2025-03-01T10:00:00.250Z OR (SystemModstamp = 2025-03-01T10:00:00.250Z AND Id > '${ID}')`,
    );
  });

  it("reads an old bare timestamp inclusively, and whole seconds as SOQL writes them", () => {
    expect(salesforceWhere(parseSalesforceCursor("2025-03-01T10:00:00.000Z"))).toBe(
      " WHERE SystemModstamp >= 2025-03-01T10:00:00Z",
    );
    expect(salesforceWhere(parseSalesforceCursor(null))).toBe("");
  });

  it.each([
    "2025-03-01T10:00:00Z OR Name != ''",
    "2025-03-01T10:00:00Z|003' OR Name != '",
    `2025-03-01T10:00:00Z|${ID}' OR Name != '`,
    `2025-03-01T10:00:00Z|${ID} LIMIT 1`,
    "2025-03-01T10:00:00Z|003aB00000XyZ1\\'",
    "2025-02-30T10:00:00Z", // not a day
    "2025-03-01T10:00:00+02:00", // only what we write (UTC, Z)
    `2025-03-01T10:00:00Z|${ID}|x`,
    "",
    "|",
  ])("refuses %j: read as no cursor (a full re-read, absorbed by the external-id map)", (c) => {
    expect(parseSalesforceCursor(c)).toEqual({ kind: "start" });
  });

  it("quotes SOQL strings and writes datetimes from numbers", () => {
    expect(soqlString("a'b\\c")).toBe("'a\\'b\\\\c'");
    expect(soqlDatetime(MS)).toBe("2025-03-01T10:00:00.250Z");
    expect(() => salesforceWhere({ kind: "after", ms: MS, id: "x' OR 1" })).toThrow();
  });
});

describe("HubSpot cursors", () => {
  it("parses what it formats, and an old bare timestamp as the start of that instant", () => {
    for (const c of [
      { kind: "after", ms: MS },
      { kind: "tie", ms: MS, id: "1001" },
      { kind: "tie", ms: MS, id: null },
    ] as const)
      expect(parseHubspotCursor(formatHubspotCursor(c))).toEqual(c);
    expect(parseHubspotCursor(String(MS))).toEqual({ kind: "tie", ms: MS, id: null });
    expect(parseHubspotCursor(null)).toEqual({ kind: "after", ms: -1 });
  });

  it.each(["a-1", "t1.abc", "t1.01", "x123", "1e9", "t.5", "a1 OR 1"])(
    "refuses %j (from the start)",
    (c) => expect(parseHubspotCursor(c)).toEqual({ kind: "after", ms: -1 }),
  );

  it("orders ids as numbers", () => {
    expect(hubspotIdLess("999", "1000")).toBe(true);
    expect(hubspotIdLess("1000", "999")).toBe(false);
    expect(hubspotIdLess("1001", "1000")).toBe(false);
  });
});

// ---- Fuzz: the connectors against small models of the providers' query semantics --------------

type Rec = { id: string; ms: number };
const BASE = Date.parse("2025-03-01T10:00:00.000Z");

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/** HubSpot: filterGroups ORed, filters ANDed, one sort rule, ties scrambled (no id order). */
function hubspotModel(recs: Map<string, Rec>) {
  const value = (f: { propertyName: string }, r: Rec) =>
    f.propertyName === "hs_object_id" ? Number(r.id) : r.ms;
  const ops: Record<string, (a: number, b: number) => boolean> = {
    GT: (a, b) => a > b,
    GTE: (a, b) => a >= b,
    LTE: (a, b) => a <= b,
  };
  return <T>(call: Call<T>) => {
    const q = JSON.parse(String(call.body)) as {
      filterGroups: { filters: { propertyName: string; operator: string; value: string }[] }[];
      sorts: { propertyName: string }[];
      limit: number;
    };
    expect(q.sorts.length).toBeLessThanOrEqual(1);
    const key = (r: Rec) => value(q.sorts[0]!, r);
    const results = [...recs.values()]
      .filter(
        (r) =>
          q.filterGroups.length === 0 ||
          q.filterGroups.some((g) =>
            g.filters.every((f) => ops[f.operator]!(value(f, r), Number(f.value))),
          ),
      )
      .sort(
        (a, b) =>
          key(a) - key(b) ||
          ((Number(a.id) * 2654435761) % 997) - ((Number(b.id) * 2654435761) % 997),
      )
      .slice(0, q.limit)
      .map((r) => ({
        id: r.id,
        properties: { lastmodifieddate: new Date(r.ms).toISOString() },
        updatedAt: new Date(r.ms).toISOString(),
      }));
    const data = (call.schema as z.ZodType<T>).parse({ total: results.length, results });
    return Promise.resolve({ ok: true as const, status: 200, headers: new Headers(), data });
  };
}

/** Salesforce: exactly the two WHERE shapes the connector writes, ORDER BY SystemModstamp, Id. */
function salesforceModel(recs: Map<string, Rec>) {
  return <T>(call: Call<T>) => {
    const q = new URL(call.path, "https://x").searchParams.get("q")!;
    const limit = Number(/LIMIT (\d+)$/.exec(q)![1]);
    expect(q).toMatch(/ORDER BY SystemModstamp ASC, Id ASC LIMIT/);
    const ge = /WHERE SystemModstamp >= (\S+) ORDER/.exec(q);
    const tie =
      /WHERE SystemModstamp > (\S+) OR \(SystemModstamp = (\S+) AND Id > '([A-Za-z0-9]+)'\) ORDER/.exec(
        q,
      );
    const keep = (r: Rec) =>
      ge
        ? r.ms >= Date.parse(ge[1]!)
        : tie
          ? r.ms > Date.parse(tie[1]!) || (r.ms === Date.parse(tie[2]!) && r.id > tie[3]!)
          : true;
    const records = [...recs.values()]
      .filter(keep)
      .sort((a, b) => a.ms - b.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((r) => ({ Id: r.id, SystemModstamp: new Date(r.ms).toISOString() }));
    const data = (call.schema as z.ZodType<T>).parse({
      totalSize: records.length,
      done: true,
      records,
    });
    return Promise.resolve({ ok: true as const, status: 200, headers: new Headers(), data });
  };
}

describe.each([
  [
    "HubSpot",
    hubspot,
    hubspotModel,
    (r: (n: number) => number, i: number) => String(900 + i * 7 + r(7)),
  ],
  [
    "Salesforce",
    salesforce,
    salesforceModel,
    (r: (n: number) => number) =>
      "003" + Array.from({ length: 15 }, () => "aAbB09zZ"[r(8)]).join(""),
  ],
] as const)("%s cursors under fuzz", (_name, connector, model, newId) => {
  it("deliver every record's last state, each state once, whatever the ties, page size and edits while paging", async () => {
    for (let seed = 1; seed <= 150; seed++) {
      const r = rng(seed);
      const recs = new Map<string, Rec>();
      const n = r(40);
      const instants = 1 + r(4);
      for (let i = 0; i < n; i++) {
        const id = newId(r, i);
        if (!recs.has(id)) recs.set(id, { id, ms: BASE + r(instants) * 1000 });
      }
      const limit = 1 + r(7);
      const send = model(recs) as never;
      const seen = new Set<string>();
      let cursor: string | null = null;
      let clock = BASE + 10_000;
      for (let step = 0; ; step++) {
        expect(step, `seed ${seed}: terminates`).toBeLessThan(1000);
        const res = await connector.fetchChanged!(send, "contacts", cursor, limit, {} as never);
        if (!res.ok) throw new Error(res.message);
        const page: ChangedPage = res.data;
        for (const rec of page.records) {
          const state = `${rec.id}@${Date.parse(rec.modifiedAt)}`;
          expect(seen.has(state), `seed ${seed}: ${state} delivered twice`).toBe(false);
          seen.add(state);
        }
        if (page.done) break;
        expect(
          page.records.length,
          `seed ${seed}: a page that asks for more brings something`,
        ).toBeGreaterThan(0);
        cursor = page.cursor;
        // Edits while paging: records move to a new, later instant (now is after every instant
        // read so far), sometimes two of them to the same one.
        if (r(3) === 0 && recs.size > 0) {
          const all = [...recs.values()];
          clock += 1000;
          for (let k = 0; k <= r(2); k++) all[r(all.length)]!.ms = clock;
        }
      }
      for (const rec of recs.values())
        expect(seen.has(`${rec.id}@${rec.ms}`), `seed ${seed}: ${rec.id}'s last state`).toBe(true);
    }
  });
});
