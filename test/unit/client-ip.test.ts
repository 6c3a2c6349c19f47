import { describe, expect, it } from "vitest";
import { LOCAL_ADDRESS, clientAddress, ipv6Prefix64 } from "../../src/access/ratelimit/client-ip";

const production = { ATOLL_ENV: "production" };
const local = { ATOLL_ENV: "development" };
const h = (init: Record<string, string>) => new Headers(init);

describe("the address anonymous calls are limited by", () => {
  it("locally ignores every client-sent address header and uses the socket's loopback address", () => {
    const cases: Record<string, string>[] = [
      {},
      { "cf-connecting-ip": "203.0.113.9" },
      { "x-real-ip": "198.51.100.7" },
      { "x-forwarded-for": "192.0.2.1, 10.0.0.1" },
      { "cf-connecting-ip": "127.0.0.9" },
    ];
    for (const headers of cases) {
      expect(clientAddress(h(headers), local)).toBe(LOCAL_ADDRESS);
    }
  });

  it("in production uses only CF-Connecting-IP, never X-Real-IP or X-Forwarded-For", () => {
    expect(
      clientAddress(
        h({
          "cf-connecting-ip": "203.0.113.9",
          "x-real-ip": "198.51.100.7",
          "x-forwarded-for": "192.0.2.1",
        }),
        production,
      ),
    ).toBe("203.0.113.9");
    expect(clientAddress(h({ "x-real-ip": "198.51.100.7" }), production)).toBe("unknown");
    expect(clientAddress(h({ "x-forwarded-for": "192.0.2.1" }), production)).toBe("unknown");
    expect(clientAddress(h({}), production)).toBe("unknown");
  });

  it.each(["not-an-ip", "1.2.3.4.5", "999.1.1.1", "1.2.3.4, 5.6.7.8", "a".repeat(100)])(
    "in production refuses the malformed value %s",
    (v) => {
      expect(clientAddress(h({ "cf-connecting-ip": v }), production)).toBe("unknown");
    },
  );

  it("counts an IPv6 address by its /64, and an IPv4-mapped one as the IPv4 address", () => {
    const a = clientAddress(h({ "cf-connecting-ip": "2001:db8:1:2::5" }), production);
    const b = clientAddress(
      h({ "cf-connecting-ip": "2001:0db8:0001:0002:ffff:ffff:ffff:fffe" }),
      production,
    );
    expect(a).toBe("2001:db8:1:2::/64");
    expect(b).toBe(a);
    expect(clientAddress(h({ "cf-connecting-ip": "2001:db8:1:3::5" }), production)).not.toBe(a);
    expect(clientAddress(h({ "cf-connecting-ip": "::ffff:192.0.2.1" }), production)).toBe(
      "192.0.2.1",
    );
    expect(ipv6Prefix64("2001:db8::")).toBe("2001:db8:0:0::/64");
    expect(ipv6Prefix64("1::2::3")).toBeNull();
    expect(ipv6Prefix64("1:2:3")).toBeNull();
  });
});
