import { describe, expect, it } from "vitest";
import {
  MAX_MESSAGE,
  MAX_RECORDS,
  MAX_STACK,
  REDACTED,
  formatMessage,
  logRecords,
  redactor,
  traceHasRecords,
  type TraceLike,
} from "../../src/runtime/logs";

const SECRET = "sk_live_9f8e7d6c5b4a";

describe("redacting a plugin's log lines", () => {
  const redact = redactor([SECRET, 'q"uote\\d', "ä ö&x"]);

  it.each([
    ["the raw value", `key is ${SECRET}!`],
    ["inside JSON", JSON.stringify({ k: SECRET })],
    ["a JSON-escaped value", JSON.stringify({ k: 'q"uote\\d' })],
    ["a URL-encoded value", `https://x.test/?k=${encodeURIComponent("ä ö&x")}`],
    ["repeated", `${SECRET}${SECRET} ${SECRET}`],
  ])("replaces a secret: %s", (_label, line) => {
    const out = redact(line);
    expect(out).toContain(REDACTED);
    for (const s of [SECRET, 'q"uote\\d', 'q\\"uote\\\\d', "ä ö&x", encodeURIComponent("ä ö&x")])
      expect(out).not.toContain(s);
  });

  it.each([
    ["an Atoll API key", "using atk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab"],
    ["a JWT", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl"],
    ["a bearer header", "Authorization: Bearer abc.DEF-123_xyz"],
    ["basic credentials", "sent basic dXNlcjpwYXNzd29yZA=="],
    ["a password pair", "login password=hunter2&user=bob"],
    ["a JSON api_key", '{"api_key":"k-123456","other":1}'],
    ["client_secret", "client_secret: s3cr3t-value"],
  ])("replaces a credential shape: %s", (_label, line) => {
    const out = redact(line);
    expect(out).toContain(REDACTED);
    for (const leaked of [
      "AbCdEfGhIjKlMnOp",
      "c2lnbmF0dXJl",
      "abc.DEF-123_xyz",
      "dXNlcjpwYXNzd29yZA",
      "hunter2",
      "k-123456",
      "s3cr3t-value",
    ])
      expect(out).not.toContain(leaked);
  });

  it("leaves ordinary text alone", () => {
    expect(redact("visit 3 of /hello, status=200 (ok)")).toBe("visit 3 of /hello, status=200 (ok)");
  });

  it("redacts a secret that contains another whole", () => {
    const r = redactor(["abcd", "xxabcdxx"]);
    expect(r("v=xxabcdxx")).toBe(`v=${REDACTED}`);
  });

  it("redacts before cutting: a secret straddling the cut leaves no fragment", () => {
    const long = "a".repeat(MAX_MESSAGE - 5) + SECRET;
    const [rec] = logRecords(
      [{ logs: [{ timestamp: 1, level: "log", message: [long] }] }],
      [SECRET],
    );
    expect(rec?.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
    expect(rec?.message).not.toContain(SECRET.slice(0, 5));
  });
});

describe("turning traces into records", () => {
  it("formats console arguments as one line, whatever they are", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(formatMessage(["visit", 3, { a: 1 }, undefined, null, 10n])).toBe(
      'visit 3 {"a":1} undefined null 10n',
    );
    expect(formatMessage([cyclic])).toBe("[object Object]");
    expect(formatMessage("bare")).toBe("bare");
  });

  it("skips exactly the traces that would leave no record", () => {
    const log = { timestamp: 1, level: "log", message: ["hi"] };
    const ex = { timestamp: 1, name: "Error", message: "boom" };
    const cases: TraceLike[][] = [
      [],
      [{ outcome: "ok", logs: [], exceptions: [] }],
      [{ outcome: "exception", logs: [], exceptions: [] }],
      [{ outcome: "ok" }],
      [{}],
      [{ outcome: "ok", logs: [log], exceptions: [] }],
      [{ outcome: "exception", logs: [], exceptions: [ex] }],
      [{ outcome: "exceededCpu", logs: [], exceptions: [] }],
      [{ outcome: "canceled" }],
      [
        { outcome: "ok", logs: [], exceptions: [] },
        { outcome: "ok", logs: [log] },
      ],
    ];
    for (const items of cases)
      expect(traceHasRecords(items), JSON.stringify(items)).toBe(logRecords(items, []).length > 0);
    expect(cases.filter(traceHasRecords)).toHaveLength(5);
  });

  it("keeps levels, exceptions with their stacks, and abnormal outcomes", () => {
    const recs = logRecords(
      [
        {
          eventTimestamp: 10,
          outcome: "exceededCpu",
          logs: [
            { timestamp: 11, level: "warn", message: ["careful"] },
            { timestamp: 12, level: "mystery", message: ["?"] },
          ],
          exceptions: [
            {
              timestamp: 13,
              name: "TypeError",
              message: `bad ${SECRET}`,
              stack: `at f (${SECRET})`,
            },
          ],
        },
      ],
      [SECRET],
    );
    expect(recs.map((r) => [r.level, r.message])).toEqual([
      ["warn", "careful"],
      ["log", "?"],
      ["exception", `TypeError: bad ${REDACTED}`],
      ["error", "the invocation ended: exceededCpu"],
    ]);
    expect(recs[2]?.stack).toBe(`at f (${REDACTED})`);
  });

  it("bounds one invocation's records (keeping its exceptions) and stack sizes, and says how many were dropped", () => {
    const logs = Array.from({ length: 5_000 }, (_, i) => ({
      timestamp: i,
      level: "log",
      message: ["x".repeat(10_000)],
    }));
    const recs = logRecords(
      [{ logs, exceptions: [{ timestamp: 0, name: "E", message: "m", stack: "s".repeat(1e6) }] }],
      [],
    );
    expect(recs).toHaveLength(MAX_RECORDS);
    expect(recs.at(-1)?.message).toMatch(/^4902 more records/);
    expect(Math.max(...recs.map((r) => r.message.length))).toBeLessThanOrEqual(MAX_MESSAGE);
    expect(recs.find((r) => r.level === "exception")?.stack?.length).toBeLessThanOrEqual(MAX_STACK);
  });
});
