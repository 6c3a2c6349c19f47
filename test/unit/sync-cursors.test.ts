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
