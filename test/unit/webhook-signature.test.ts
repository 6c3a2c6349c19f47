import { describe, expect, it } from "vitest";
import {
  SECRET_PATTERN,
  parseSignatureHeader,
  signatureHeader,
  verifySignature,
} from "../../src/contract/webhook-signature";
import { checkedUrl, newSecret } from "../../src/events/endpoints.routes";

const NOW = 1_700_000_000_000;
const BODY = '{"id":"pev_1","topic":"installation.created","payload":{}}';

describe("webhook signatures (Atoll-Signature: t=…,v1=…)", () => {
  it("verifies what it signed, and refuses a changed byte, another secret, a stale or future timestamp", async () => {
    const secret = newSecret();
    const header = await signatureHeader([secret], BODY, NOW);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(await verifySignature(secret, header, BODY, NOW)).toEqual({ ok: true });
    expect(await verifySignature(secret, header, BODY.replace("created", "creaTed"), NOW)).toEqual({
      ok: false,
      reason: "mismatch",
    });
    expect(await verifySignature(newSecret(), header, BODY, NOW)).toEqual({
      ok: false,
      reason: "mismatch",
    });
    expect(await verifySignature(secret, header, BODY, NOW + 301_000)).toEqual({
      ok: false,
      reason: "outside-window",
    });
    expect(await verifySignature(secret, header, BODY, NOW - 301_000)).toEqual({
      ok: false,
      reason: "outside-window",
    });
    expect((await verifySignature(secret, header, BODY, NOW + 299_000)).ok).toBe(true);
  });

  it("the timestamp is signed: moving it breaks the signature", async () => {
    const secret = newSecret();
    const header = await signatureHeader([secret], BODY, NOW);
    const moved = header.replace("t=1700000000", "t=1700000100");
    expect(await verifySignature(secret, moved, BODY, NOW + 100_000)).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });

  it("during a rotation both secrets verify (two v1 values, the new one first)", async () => {
    const [next, old] = [newSecret(), newSecret()];
    const header = await signatureHeader([next, old], BODY, NOW);
    expect(parseSignatureHeader(header)?.v1).toHaveLength(2);
    expect((await verifySignature(next, header, BODY, NOW)).ok).toBe(true);
    expect((await verifySignature(old, header, BODY, NOW)).ok).toBe(true);
    expect((await verifySignature(newSecret(), header, BODY, NOW)).ok).toBe(false);
  });

  it.each([
    ["nothing", null, "missing"],
    ["an empty header", "", "missing"],
    ["no v1", "t=1700000000", "malformed"],
    ["no t", `v1=${"a".repeat(64)}`, "malformed"],
    ["two t", `t=1,t=2,v1=${"a".repeat(64)}`, "malformed"],
    ["a short v1", "t=1700000000,v1=abc", "malformed"],
    ["upper-case hex", `t=1700000000,v1=${"A".repeat(64)}`, "malformed"],
    ["a v0 scheme", `t=1700000000,v0=${"a".repeat(64)}`, "malformed"],
    ["a negative t", `t=-1,v1=${"a".repeat(64)}`, "malformed"],
    ["a huge t", `t=${"9".repeat(20)},v1=${"a".repeat(64)}`, "malformed"],
  ])("refuses %s as %s", async (_what, header, reason) => {
    expect(await verifySignature(newSecret(), header, BODY, NOW)).toEqual({ ok: false, reason });
  });

  it("secrets are whsec_ and 32 random bytes, never the same twice", () => {
    const a = newSecret();
    expect(a).toMatch(SECRET_PATTERN);
    expect(newSecret()).not.toBe(a);
  });
});

describe("webhook endpoint URLs (the integrations egress policy)", () => {
  const production = { ATOLL_ENV: "production", ATOLL_INTEGRATIONS_ALLOW_HTTP: "true" };
  const local = { ATOLL_ENV: "test", ATOLL_INTEGRATIONS_ALLOW_HTTP: "true" };

  it("refuses loopback and http in production even with the local setting on", () => {
    for (const url of ["http://127.0.0.1:9000/hook", "https://localhost/hook", "https://[::1]/"])
      expect(() => checkedUrl(url, production)).toThrow(/url must/);
  });

  it("admits the loopback stand-ins only outside production, and canonicalizes", () => {
    expect(checkedUrl("http://127.0.0.1:9000/hook", local)).toBe("http://127.0.0.1:9000/hook");
    expect(checkedUrl("https://Hooks.Example.COM/a/../b", production)).toBe(
      "https://hooks.example.com/b",
    );
  });
});
