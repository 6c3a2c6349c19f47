/**
 * Roles and scopes (src/identity/scopes.ts): what each role may use, how a credential's scopes
 * narrow when its holder is demoted, what may be handed out, and who may manage whom.
 */
import { describe, expect, it } from "vitest";
import type { Role } from "../../src/platform/db/schema";
import {
  ALL_SCOPES,
  ROLE_SCOPES,
  SCOPES,
  canManageMember,
  effectiveScopes,
  isScope,
  scopesBeyond,
} from "../../src/access/scopes";

const MEMBER = ["org:read", "keys:read", "keys:write", "installations:read", "plugins:call"];
/** Strings that look like scopes or reach Object.prototype: none of them is a scope. */
const HOSTILE = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "ORG:READ",
  " org:read",
  "org:read ",
  "org:*",
  "*",
  "",
  "org:read,keys:write",
  "org:read keys:write",
  "installations:write\u0000",
  "оrg:read" /* Cyrillic о */,
];

describe("the scope vocabulary", () => {
  it("lists every scope once, each with a description", () => {
    expect(new Set(ALL_SCOPES).size).toBe(ALL_SCOPES.length);
    expect(ALL_SCOPES).toHaveLength(15);
    for (const s of ALL_SCOPES) expect(SCOPES[s].length).toBeGreaterThan(10);
  });

  it.each(ALL_SCOPES.map((s) => [s]))("knows %s", (s) => {
    expect(isScope(s)).toBe(true);
  });

  it.each(HOSTILE.map((s) => [s]))("does not take %j for a scope", (s) => {
    expect(isScope(s)).toBe(false);
  });

  it("cannot be widened at run time", () => {
    expect(() => (ALL_SCOPES as string[]).push("root")).toThrow(TypeError);
    expect(() => (ROLE_SCOPES.member as string[]).push("org:write")).toThrow(TypeError);
    expect(() => Object.assign(ROLE_SCOPES, { member: ALL_SCOPES })).toThrow(TypeError);
    expect(ROLE_SCOPES.member).toEqual(MEMBER);
    expect(ALL_SCOPES).not.toContain("root");
  });
});

describe("what each role allows", () => {
  it("gives owners and admins every scope", () => {
    expect([...ROLE_SCOPES.owner].sort()).toEqual([...ALL_SCOPES].sort());
    expect([...ROLE_SCOPES.admin].sort()).toEqual([...ALL_SCOPES].sort());
  });

  it("gives members reading, their own keys and calling plugins, nothing that changes the organization, spends money or publishes", () => {
    expect([...ROLE_SCOPES.member].sort()).toEqual([...MEMBER].sort());
    for (const s of [
      "org:write",
      "audit:read",
      "plugins:publish",
      "installations:write",
      "billing:read",
      "billing:write",
      "integrations:read",
      "integrations:write",
    ]) {
      expect(ROLE_SCOPES.member).not.toContain(s);
    }
  });
});

describe("effectiveScopes", () => {
  it("keeps the scopes a credential was given that the role still allows, in the given order", () => {
    expect(effectiveScopes(["plugins:call", "org:read"], "member")).toEqual([
      "plugins:call",
      "org:read",
    ]);
    expect(effectiveScopes([...ALL_SCOPES], "owner")).toEqual(ALL_SCOPES);
  });

  it("narrows an owner's key at once when the owner is demoted to member", () => {
    expect(effectiveScopes([...ROLE_SCOPES.owner], "member")).toEqual(
      ALL_SCOPES.filter((s) => MEMBER.includes(s)),
    );
    expect(effectiveScopes(["billing:write", "plugins:publish"], "member")).toEqual([]);
  });

  it("never widens: a narrow key stays narrow whatever the role", () => {
    expect(effectiveScopes(["keys:read"], "owner")).toEqual(["keys:read"]);
    expect(effectiveScopes([], "owner")).toEqual([]);
  });

  it("drops anything that is not a scope, including prototype names", () => {
    expect(effectiveScopes([...HOSTILE, "org:read"], "owner")).toEqual(["org:read"]);
  });

  it.each([["operator"], ["superuser"], ["__proto__"], ["constructor"], ["toString"], [""]])(
    "gives a role it does not know (%j) no scope at all",
    (role) => {
      expect(effectiveScopes([...ALL_SCOPES], role as Role)).toEqual([]);
    },
  );
});

describe("scopesBeyond", () => {
  it("names each requested scope the caller does not hold", () => {
    expect(scopesBeyond(["org:read", "billing:write", "audit:read"], ["org:read"])).toEqual([
      "billing:write",
      "audit:read",
    ]);
  });

  it("is empty for a subset, the same set and nothing", () => {
    expect(scopesBeyond(["org:read"], ["org:read", "keys:read"])).toEqual([]);
    expect(scopesBeyond(["keys:read", "org:read"], ["org:read", "keys:read"])).toEqual([]);
    expect(scopesBeyond([], [])).toEqual([]);
  });

  it("refuses every hostile string, even to a caller holding every scope", () => {
    expect(scopesBeyond(HOSTILE, ALL_SCOPES)).toEqual(HOSTILE);
  });
});

describe("canManageMember", () => {
  const roles: Role[] = ["owner", "admin", "member"];
  const nexts: (Role | null)[] = ["owner", "admin", "member", null];
  /** [actor, target, next] → allowed, every combination. */
  const table: [Role, Role, Role | null, boolean][] = roles.flatMap((actor) =>
    roles.flatMap((target) =>
      nexts.map((next): [Role, Role, Role | null, boolean] => [
        actor,
        target,
        next,
        actor === "owner" || (actor === "admin" && target !== "owner" && next !== "owner"),
      ]),
    ),
  );

  it.each(table)("%s managing a %s (to %s): %s", (actor, target, next, allowed) => {
    expect(canManageMember(actor, target, next)).toBe(allowed);
  });

  it("never lets a member manage anyone, and an admin never touches or makes an owner", () => {
    for (const target of roles)
      for (const next of nexts) expect(canManageMember("member", target, next)).toBe(false);
    expect(canManageMember("admin", "owner", null)).toBe(false);
    expect(canManageMember("admin", "member", "owner")).toBe(false);
  });

  it.each([["operator"], ["superuser"], ["__proto__"], [""]])(
    "gives an actor role it does not know (%j) no power",
    (actor) => {
      expect(canManageMember(actor as Role, "member", "member")).toBe(false);
      expect(canManageMember(actor as Role, "member", null)).toBe(false);
    },
  );
});
