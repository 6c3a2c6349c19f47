/**
 * No burst at a window boundary, over HTTP against the real Durable Object: a client that spends a
 * route's whole quota just before an aligned window ends gets nothing just after it (fixed windows
 * admitted the quota again there, twice the limit in one window's length), and gets the quota back
 * once a full window has passed since it spent it. Real time, a 2-second window.
 */
import { describe, expect, it } from "vitest";
import { call, problem } from "../helpers";
import { publishAndInstall, publisher, rawPackage } from "../plugin-helpers";

const SOURCE = `export default { fetch() { return Response.json({ ok: true }); } };`;
const WINDOW_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

describe("sliding windows at the boundary", () => {
  it("admits no more than the route's quota in any window, across an aligned boundary", async () => {
    const a = await publisher("edge");
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, SOURCE, {
        routes: [{ method: "POST", path: "/burst", limit: { requests: 5, window: 2 } }],
      }),
    );
    const burst = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          call(`${inst.endpoint}/burst`, { method: "POST", key: a.apiKey }),
        ),
      );
    // Warm the path (resolution, the plan's lease) on a call the route table refuses.
    expect((await call(`${inst.endpoint}/other`, { method: "POST", key: a.apiKey })).status).toBe(
      404,
    );
    // The last quarter of an aligned 2-second window.
    await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + WINDOW_MS * 0.7);
    const spentAt = Date.now();
    const before = await burst(5);
    expect(before.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    // Just after the boundary: the window ending now already holds 5.
    await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 50);
    expect(Date.now() - spentAt).toBeLessThan(WINDOW_MS);
    const after = await burst(5);
    expect(after.map((r) => r.status)).toEqual([429, 429, 429, 429, 429]);
    const refused = after[0] as Response;
    expect(refused.headers.get("ratelimit-policy")).toContain('"route";q=5;w=2');
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await problem(refused)).type).toMatch(/rate-limited$/);
    // A full window after the spends (plus the 1-second lease they could have used), it is back.
    await sleep(spentAt + WINDOW_MS + 1_200 - Date.now());
    const later = await burst(5);
    expect(later.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  }, 20_000);
});
