import { describe, expect, it } from "vitest";
import { call, problem, signup } from "../helpers";

async function invite(owner: { apiKey: string; orgId: string }, email: string, role: "owner" | "admin" | "member") {
  const res = await call(`/v1/organizations/${owner.orgId}/members`, { method: "POST", key: owner.apiKey, json: { email, role } });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { member: { user: { id: string } }; invitation: { token: string } };
  const accepted = await call("/v1/invitations/accept", { method: "POST", json: { token: body.invitation.token } });
  expect(accepted.status).toBe(201);
  const creds = (await accepted.json()) as { apiKey: string; apiKeyId: string; role: string };
  return { userId: body.member.user.id, token: body.invitation.token, ...creds };
}

describe("organization members", () => {
  it("adds a member whose invitation yields a working key with the role's scopes", async () => {
    const owner = await signup();
    const m = await invite(owner, "grace@example.test", "member");
    expect(m.role).toBe("member");
    const me = (await (await call("/v1/me", { key: m.apiKey })).json()) as { role: string; scopes: string[]; organization: { id: string } };
    expect(me).toMatchObject({ role: "member", organization: { id: owner.orgId } });
    expect(me.scopes).not.toContain("org:write");
    const members = (await (await call(`/v1/organizations/${owner.orgId}/members`, { key: m.apiKey })).json()) as { members: { role: string }[] };
    expect(members.members.map((x) => x.role).sort()).toEqual(["member", "owner"]);
  });

  it("accepts an invitation only once", async () => {
    const owner = await signup();
    const m = await invite(owner, "once@example.test", "member");
    const again = await call("/v1/invitations/accept", { method: "POST", json: { token: m.token } });
    expect(again.status).toBe(404);
    await problem(again);
  });

  it("lets only owners and admins manage members, and only owners touch owners", async () => {
    const owner = await signup();
    const admin = await invite(owner, "admin@example.test", "admin");
    const member = await invite(owner, "member@example.test", "member");
    const byMember = await call(`/v1/organizations/${owner.orgId}/members`, { method: "POST", key: member.apiKey, json: { email: "x@example.test" } });
    expect(byMember.status).toBe(403);
    const adminMakesOwner = await call(`/v1/organizations/${owner.orgId}/members/${member.userId}`, { method: "PATCH", key: admin.apiKey, json: { role: "owner" } });
    expect(adminMakesOwner.status).toBe(403);
    const adminPromotes = await call(`/v1/organizations/${owner.orgId}/members/${member.userId}`, { method: "PATCH", key: admin.apiKey, json: { role: "admin" } });
    expect(adminPromotes.status).toBe(200);
    expect(((await (await call("/v1/me", { key: member.apiKey })).json()) as { role: string }).role).toBe("admin");
  });

  it("narrows a demoted member's existing keys at once", async () => {
    const owner = await signup();
    const admin = await invite(owner, "demote@example.test", "admin");
    expect(((await (await call("/v1/me", { key: admin.apiKey })).json()) as { scopes: string[] }).scopes).toContain("org:write");
    await call(`/v1/organizations/${owner.orgId}/members/${admin.userId}`, { method: "PATCH", key: owner.apiKey, json: { role: "member" } });
    const me = (await (await call("/v1/me", { key: admin.apiKey })).json()) as { role: string; scopes: string[] };
    expect(me.role).toBe("member");
    expect(me.scopes).not.toContain("org:write");
  });

  it("keeps at least one owner", async () => {
    const owner = await signup();
    const demote = await call(`/v1/organizations/${owner.orgId}/members/${owner.userId}`, { method: "PATCH", key: owner.apiKey, json: { role: "admin" } });
    expect(demote.status).toBe(409);
    const remove = await call(`/v1/organizations/${owner.orgId}/members/${owner.userId}`, { method: "DELETE", key: owner.apiKey });
    expect(remove.status).toBe(409);
    expect((await problem(remove)).type).toMatch(/last-owner$/);
  });

  it("revokes a removed member's keys", async () => {
    const owner = await signup();
    const m = await invite(owner, "leaver@example.test", "member");
    expect((await call("/v1/me", { key: m.apiKey })).status).toBe(200);
    expect((await call(`/v1/organizations/${owner.orgId}/members/${m.userId}`, { method: "DELETE", key: owner.apiKey })).status).toBe(204);
    const res = await call("/v1/me", { key: m.apiKey });
    expect(res.status).toBe(401);
    expect((await problem(res)).reason).toBe("revoked");
  });

  it("refuses adding someone who is already a member", async () => {
    const owner = await signup();
    await invite(owner, "dup@example.test", "member");
    const res = await call(`/v1/organizations/${owner.orgId}/members`, { method: "POST", key: owner.apiKey, json: { email: "DUP@example.test" } });
    expect(res.status).toBe(409);
  });
});
