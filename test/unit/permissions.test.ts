import { describe, expect, it } from "vitest";
import {
  checkPermissions,
  compareGrants,
  describePermission,
  hostProblem,
  parsePermission,
} from "../../src/contract/permissions";

describe("permission vocabulary", () => {
  it.each([
    ["network:api.stripe.com", { kind: "network", host: "api.stripe.com" }],
    ["storage", { kind: "storage" }],
    ["secrets:API_KEY", { kind: "secrets", name: "API_KEY" }],
    ["events:installation.created", { kind: "events", topic: "installation.created" }],
    ["integrations:slack", { kind: "integrations", provider: "slack" }],
    ["payments", { kind: "payments" }],
  ])("parses %s", (value, permission) => {
    expect(parsePermission(value)).toEqual({ ok: true, permission });
  });

  it.each([
    ["filesystem", /unknown permission "filesystem"/],
    ["network:", /needs a host/],
    ["network:*.example.com", /wildcard/],
    ["network:*", /wildcard/],
    ["network:10.0.0.1", /IP addresses/],
    ["network:127.0.0.1", /IP addresses/],
    ["network:[::1]", /port and no IPv6/],
    ["network:api.example.com:8443", /port/],
    ["network:localhost", /single-label/],
    ["network:db.internal", /private or reserved/],
    ["network:printer.local", /private or reserved/],
    ["network:API.Example.com", /lower-case/],
    ["secrets:lower", /secret names/],
    ["storage:extra", /takes no argument/],
    ["integrations:myspace", /unknown provider/],
  ])("refuses %s, saying why", (value, reason) => {
    const r = parsePermission(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("reports every problem of a permission list, naming the permission", () => {
    expect(checkPermissions(["storage", "network:10.1.2.3", "storage", "teleport"])).toEqual([
      { permission: "network:10.1.2.3", reason: expect.stringMatching(/IP/) },
      { permission: "storage", reason: "declared twice" },
      { permission: "teleport", reason: expect.stringMatching(/unknown/) },
    ]);
  });

  it("finds grants that are missing or undeclared", () => {
    expect(compareGrants(["storage", "network:a.example.org"], ["storage", "payments"])).toEqual({
      missing: ["network:a.example.org"],
      undeclared: ["payments"],
    });
  });

  it("describes what a permission allows", () => {
    expect(describePermission("network:api.example.org")).toBe("may call api.example.org");
  });

  it("accepts ordinary public host names", () => {
    for (const host of ["api.stripe.com", "hooks.slack.com", "a-b.c-d.co.uk"])
      expect(hostProblem(host)).toBeNull();
  });
});
