import { describe, expect, it } from "vitest";
import { awayFromWindowEdge, call } from "../helpers";

describe("the anonymous per-IP limit", () => {
  it("cannot be escaped locally by sending a new CF-Connecting-IP, X-Real-IP or X-Forwarded-For each time", async () => {
    await awayFromWindowEdge();
    const spoofed = (i: number): Record<string, string> => {
      const ip = `198.51.${Math.floor(i / 250)}.${i % 250}`;
      return [{ "cf-connecting-ip": ip }, { "x-real-ip": ip }, { "x-forwarded-for": ip }][
        i % 3
      ] as Record<string, string>;
    };
    const statuses: number[] = [];
    for (let i = 0; i < 125; i++)
      statuses.push(
        (await call("/v1/signup", { method: "POST", json: {}, headers: spoofed(i) })).status,
      );
    // 120 a minute per address (ATOLL_ANON_RATE_LIMIT); every one of these came from the same socket.
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    expect(statuses.slice(0, 120).every((s) => s === 400)).toBe(true);
  }, 60_000);
});
