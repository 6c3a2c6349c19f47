/**
 * An external identity provider: tokens it signs (RS256, its JWKS served by a stand-in on
 * loopback) are accepted for the organization named in their `org` claim.
 */
import { SignJWT, importJWK, type JWK } from "jose";
import { beforeAll, describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const idp = inject("idp");
let slug = "";

async function idpToken(
  claims: Record<string, unknown>,
  opts: { kid?: string; audience?: string; issuer?: string; expiresIn?: string } = {},
) {
  const key = await importJWK(idp.privateJwk as JWK, "RS256");
  return new SignJWT({ org: slug, ...claims })
    .setProtectedHeader({ alg: "RS256", kid: opts.kid ?? idp.kid })
    .setIssuer(opts.issuer ?? idp.issuer)
    .setAudience(opts.audience ?? idp.audience)
    .setSubject("external-user-42")
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? "5m")
    .sign(key);
}

beforeAll(async () => {
  slug = `idp-${Date.now()}`;
  const res = await fetch(`${base}/v1/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: `${slug}@example.test`,
      name: "IdP org owner",
      organization: { name: "IdP Org", slug },
    }),
  });
  expect(res.status).toBe(201);
});

describe("external identity provider", () => {
  it("accepts a token it signed, for the organization in its org claim", async () => {
    const res = await fetch(`${base}/v1/me`, {
      headers: { authorization: `Bearer ${await idpToken({})}` },
    });
    expect(res.status).toBe(200);
    const me = (await res.json()) as {
      method: string;
      subject: string;
      organization: { slug: string };
      role: string;
    };
    expect(me).toMatchObject({
      method: "external_token",
      subject: "idp:external-user-42",
      organization: { slug },
      role: "member",
    });
  });

  it.each([
    ["another audience", {}, { audience: "someone-else" }],
    ["an unknown key id", {}, { kid: "not-in-jwks" }],
    ["an organization that does not exist", { org: "no-such-org-xyz" }, {}],
    ["an expired token", {}, { expiresIn: "-1m" }],
  ])("refuses %s", async (_label, claims, opts) => {
    const res = await fetch(`${base}/v1/me`, {
      headers: { authorization: `Bearer ${await idpToken(claims, opts)}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });

  it("does not let an external token act beyond reading its organization", async () => {
    const res = await fetch(`${base}/v1/api-keys`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await idpToken({})}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "x" }),
    });
    expect(res.status).toBe(403);
  });
});
