import { describe, expect, it } from "vitest";
import { checkEgressUrl, egressOptions, joinEgressUrl } from "../../src/integrations/egress-policy";

const PROD = { allowLocal: false };
const LOCAL = { allowLocal: true };

describe("the integrations egress policy", () => {
  it.each([
    "https://login.salesforce.com",
    "https://acme.my.salesforce.com/services/data",
    "https://api.hubapi.com:443/x",
    "https://hooks.zapier.com/hooks/standard/1/abc?x=1",
    "https://xn--bcher-kva.example.com.au/",
  ])("accepts the public https URL %s", (url) => {
    expect(checkEgressUrl(url, PROD).ok).toBe(true);
  });

  it.each([
    ["169.254.169.254 (cloud metadata)", "https://169.254.169.254/latest/meta-data/", "ip-literal"],
    ["a private address", "https://10.0.0.1/", "ip-literal"],
    ["a public address", "https://93.184.216.34/", "ip-literal"],
    ["decimal IPv4", "https://2130706433/", "ip-literal"],
    ["decimal metadata IPv4", "https://2852039166/", "ip-literal"],
    ["octal IPv4", "https://0177.0.0.1/", "ip-literal"],
    ["hex IPv4", "https://0x7f000001/", "ip-literal"],
    ["mixed hex IPv4", "https://0xa9.0xfe.0xa9.0xfe/", "ip-literal"],
    ["short IPv4", "https://127.1/", "ip-literal"],
    ["percent-encoded IPv4", "https://%31%36%39.254.169.254/", "ip-literal"],
    ["full-width IPv4", "https://１６９.２５４.１６９.２５４/", "ip-literal"],
    ["an IPv4 with a trailing dot", "https://169.254.169.254./", "ip-literal"],
    ["0.0.0.0", "https://0.0.0.0/", "ip-literal"],
    ["IPv6 loopback", "https://[::1]/", "ip-literal"],
    ["IPv6 link-local", "https://[fe80::1]/", "ip-literal"],
    ["IPv4-mapped IPv6", "https://[::ffff:169.254.169.254]/", "ip-literal"],
    ["IPv4-mapped IPv6 in hex", "https://[::ffff:a9fe:a9fe]/", "ip-literal"],
    ["IPv4-compatible IPv6", "https://[::127.0.0.1]/", "ip-literal"],
    ["a public IPv6", "https://[2606:4700::1111]/", "ip-literal"],
    ["a trailing-dot name", "https://login.salesforce.com./", "trailing-dot"],
    ["localhost", "https://localhost/", "internal-name"],
    ["localhost with a trailing dot", "https://localhost./", "trailing-dot"],
    ["a .localhost name", "https://api.localhost/", "internal-name"],
    ["metadata.google.internal", "https://metadata.google.internal/", "internal-name"],
    ["a .internal name", "https://billing.corp.internal/", "internal-name"],
    ["a .local name", "https://printer.local/", "internal-name"],
    ["a home.arpa name", "https://nas.home.arpa/", "internal-name"],
    ["an in-addr.arpa name", "https://1.0.0.127.in-addr.arpa/", "internal-name"],
    ["a nip.io name", "https://169.254.169.254.nip.io/", "internal-name"],
    ["an sslip.io name", "https://10-0-0-1.sslip.io/", "internal-name"],
    ["a single-label name", "https://metadata/", "not-a-dns-name"],
    ["an underscore name", "https://a_b.example.com/", "not-a-dns-name"],
    ["user:password", "https://user:pw@api.hubapi.com/", "credentials"],
    ["a user alone", "https://user@api.hubapi.com/", "credentials"],
    ["an explicit non-default port", "https://api.hubapi.com:8443/", "port"],
    ["port 80 on https", "https://api.hubapi.com:80/", "port"],
    ["http", "http://api.hubapi.com/", "scheme"],
    ["file:", "file:///etc/passwd", "scheme"],
    ["gopher:", "gopher://api.hubapi.com/", "scheme"],
    ["javascript:", "javascript:alert(1)", "scheme"],
    ["not a URL", "api.hubapi.com/x", "not-a-url"],
  ])("refuses %s in production", (_what, url, reason) => {
    const v = checkEgressUrl(url, PROD);
    expect(v).toMatchObject({ ok: false, reason });
  });

  it("refuses an IPv4 with an invalid number rather than reading it as a name", () => {
    expect(checkEgressUrl("https://1.2.3.999/", PROD).ok).toBe(false);
    expect(checkEgressUrl("https://example.0x1/", PROD).ok).toBe(false);
  });

  it.each([
    "http://127.0.0.1:8799/salesforce",
    "http://localhost:9000/",
    "http://[::1]:4000/x",
    "http://2130706433:8799/",
    "https://api.hubapi.com/",
  ])("admits the local stand-in %s only by the local setting", (url) => {
    expect(checkEgressUrl(url, LOCAL).ok).toBe(true);
    if (!url.startsWith("https://api.")) expect(checkEgressUrl(url, PROD).ok).toBe(false);
  });

  it.each([
    "http://169.254.169.254/",
    "http://10.0.0.1:8080/",
    "http://[::ffff:127.0.0.1]:8799/",
    "http://0.0.0.0:8799/",
    "http://u:p@127.0.0.1:8799/",
    "http://metadata.google.internal/",
    "http://api.hubapi.com:8443/",
    "ftp://127.0.0.1/",
  ])("keeps refusing %s with the local setting", (url) => {
    expect(checkEgressUrl(url, LOCAL).ok).toBe(false);
  });

  it("never relaxes in production, whatever the local setting says", () => {
    expect(
      egressOptions({ ATOLL_INTEGRATIONS_ALLOW_HTTP: "true", ATOLL_ENV: "production" }),
    ).toEqual(PROD);
    expect(
      egressOptions({ ATOLL_INTEGRATIONS_ALLOW_HTTP: "false", ATOLL_ENV: "development" }),
    ).toEqual(PROD);
    expect(
      egressOptions({ ATOLL_INTEGRATIONS_ALLOW_HTTP: "true", ATOLL_ENV: "development" }),
    ).toEqual(LOCAL);
  });
});

describe("joining a base URL and a request path", () => {
  it("keeps the base's path and origin", () => {
    const v = joinEgressUrl("https://acme.my.salesforce.com/base/", "/services/data?q=1", PROD);
    expect(v.ok && v.url.href).toBe("https://acme.my.salesforce.com/base/services/data?q=1");
  });

  it.each([
    "//evil.example.com/x",
    "\\\\evil.example.com/x",
    "/\\evil.example.com",
    "x",
    "@evil.example.com",
  ])("refuses the path %s, which could change the origin", (path) => {
    expect(joinEgressUrl("https://api.hubapi.com", path, PROD).ok).toBe(false);
  });

  it("refuses when the base itself is refused (a provider-returned instance URL)", () => {
    expect(joinEgressUrl("https://169.254.169.254", "/services/data", PROD)).toMatchObject({
      ok: false,
      reason: "ip-literal",
    });
    expect(joinEgressUrl("http://127.0.0.1:1/x", "/y", PROD)).toMatchObject({
      ok: false,
      reason: "scheme",
    });
  });
});
