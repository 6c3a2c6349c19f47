import { describe, expect, it } from "vitest";
import { call, problem, signup } from "../helpers";
import { invite as inviteAndAccept, latestMail, mailedToken } from "../mail-helpers";

const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 10)}@example.test`;
const invite = (
  owner: { apiKey: string; orgId: string },
  name: string,
  role: "owner" | "admin" | "member",
) => inviteAndAccept(owner, unique(name), role);

describe("organization members", () => {
  it("adds a member whose invitation yields a working key with the role's scopes", async () => {
    const owner = await signup();
    const m = await invite(owner, "grace", "member");
    expect(m.role).toBe("member");
    const me = (await (await call("/v1/me", { key: m.apiKey })).json()) as {
      role: string;
      scopes: string[];
      organization: { id: string };
    };
    expect(me).toMatchObject({ role: "member", organization: { id: owner.orgId } });
    expect(me.scopes).not.toContain("org:write");
    const members = (await (
      await call(`/v1/organizations/${owner.orgId}/members`, { key: m.apiKey })
    ).json()) as { members: { role: string }[] };
    expect(members.members.map((x) => x.role).sort()).toEqual(["member", "owner"]);
  });

  it("accepts an invitation only once", async () => {
    const owner = await signup();
    const m = await invite(owner, "once", "member");
    const again = await call("/v1/invitations/accept", {
      method: "POST",
      json: { token: m.token },
    });
    expect(again.status).toBe(404);
    await problem(again);
  });

  it("lets only owners and admins manage members, and only owners touch owners", async () => {
    const owner = await signup();
    const admin = await invite(owner, "admin", "admin");
    const member = await invite(owner, "member", "member");
    const byMember = await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: member.apiKey,
      json: { email: "x@example.test" },
    });
    expect(byMember.status).toBe(403);
    const adminMakesOwner = await call(
      `/v1/organizations/${owner.orgId}/members/${member.userId}`,
      { method: "PATCH", key: admin.apiKey, json: { role: "owner" } },
    );
    expect(adminMakesOwner.status).toBe(403);
    const adminPromotes = await call(`/v1/organizations/${owner.orgId}/members/${member.userId}`, {
      method: "PATCH",
      key: admin.apiKey,
      json: { role: "admin" },
    });
    expect(adminPromotes.status).toBe(200);
    expect(
      ((await (await call("/v1/me", { key: member.apiKey })).json()) as { role: string }).role,
    ).toBe("admin");
  });

  it("narrows a demoted member's existing keys at once", async () => {
    const owner = await signup();
    const admin = await invite(owner, "demote", "admin");
    expect(
      ((await (await call("/v1/me", { key: admin.apiKey })).json()) as { scopes: string[] }).scopes,
    ).toContain("org:write");
    await call(`/v1/organizations/${owner.orgId}/members/${admin.userId}`, {
      method: "PATCH",
      key: owner.apiKey,
      json: { role: "member" },
    });
    const me = (await (await call("/v1/me", { key: admin.apiKey })).json()) as {
      role: string;
      scopes: string[];
    };
    expect(me.role).toBe("member");
    expect(me.scopes).not.toContain("org:write");
  });

  it("keeps at least one owner", async () => {
    const owner = await signup();
    const demote = await call(`/v1/organizations/${owner.orgId}/members/${owner.userId}`, {
      method: "PATCH",
      key: owner.apiKey,
      json: { role: "admin" },
    });
    expect(demote.status).toBe(409);
    const remove = await call(`/v1/organizations/${owner.orgId}/members/${owner.userId}`, {
      method: "DELETE",
      key: owner.apiKey,
    });
    expect(remove.status).toBe(409);
    expect((await problem(remove)).type).toMatch(/last-owner$/);
  });

  it("revokes a removed member's keys", async () => {
    const owner = await signup();
    const m = await invite(owner, "leaver", "member");
    expect((await call("/v1/me", { key: m.apiKey })).status).toBe(200);
    expect(
      (
        await call(`/v1/organizations/${owner.orgId}/members/${m.userId}`, {
          method: "DELETE",
          key: owner.apiKey,
        })
      ).status,
    ).toBe(204);
    const res = await call("/v1/me", { key: m.apiKey });
    expect(res.status).toBe(401);
    expect((await problem(res)).reason).toBe("revoked");
  });

  it("refuses adding someone who is already a member", async () => {
    const owner = await signup();
    const email = unique("dup");
    await inviteAndAccept(owner, email, "member");
    const res = await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email: email.toUpperCase() },
    });
    expect(res.status).toBe(409);
  });

  it("mails the invitation to the invitee and shows the inviter no token and nothing about an existing account", async () => {
    const owner = await signup();
    const victim = await signup("victim");
    const fresh = unique("fresh");
    const toVictim = await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email: victim.email, role: "member" },
    });
    const toFresh = await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email: fresh, role: "member" },
    });
    expect([toVictim.status, toFresh.status]).toEqual([201, 201]);
    const a = await toVictim.text();
    const b = await toFresh.text();
    for (const body of [a, b]) expect(body).not.toMatch(/ati_|usr_|"name"|"user"/);
    expect(a).not.toContain(victim.userId);
    expect(a).not.toContain(`User ${victim.email.split("@")[0]}`);
    // The same shape whether or not the address has an account.
    const shape = (t: string) =>
      JSON.stringify(
        Object.keys((JSON.parse(t) as { invitation: Record<string, unknown> }).invitation).sort(),
      );
    expect(shape(a)).toBe(shape(b));
    const mail = await latestMail(victim.email);
    expect(mail?.text).toMatch(/ati_[0-9A-Za-z]{40}/);
    expect(mail?.subject).toContain("Invitation");
    // Not a member until they accept.
    const list = (await (
      await call(`/v1/organizations/${owner.orgId}/members`, { key: owner.apiKey })
    ).json()) as { members: { user: { id: string } }[] };
    expect(list.members.map((m) => m.user.id)).not.toContain(victim.userId);
  });

  it("lets only the existing account itself accept an invitation addressed to it, even with the token", async () => {
    const owner = await signup();
    const victim = await signup("victim");
    await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email: victim.email, role: "admin" },
    });
    const token = await mailedToken(victim.email); // suppose it leaked to the inviter
    const anonymous = await call("/v1/invitations/accept", { method: "POST", json: { token } });
    expect(anonymous.status).toBe(401);
    await problem(anonymous);
    const asInviter = await call("/v1/invitations/accept", {
      method: "POST",
      key: owner.apiKey,
      json: { token },
    });
    expect(asInviter.status).toBe(403);
    const asVictim = await call("/v1/invitations/accept", {
      method: "POST",
      key: victim.apiKey,
      json: { token },
    });
    expect(asVictim.status).toBe(201);
    const creds = (await asVictim.json()) as {
      apiKey: string;
      role: string;
      user: { id: string; name: string };
    };
    expect(creds).toMatchObject({ role: "admin", user: { id: victim.userId } });
    const me = (await (await call("/v1/me", { key: creds.apiKey })).json()) as {
      organization: { id: string };
      user: { id: string };
    };
    expect(me).toMatchObject({ organization: { id: owner.orgId }, user: { id: victim.userId } });
  });

  it("refuses a new address's invitation to someone signed in as another account", async () => {
    const owner = await signup();
    const other = await signup("other");
    const email = unique("newcomer");
    await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email },
    });
    const res = await call("/v1/invitations/accept", {
      method: "POST",
      key: other.apiKey,
      json: { token: await mailedToken(email) },
    });
    expect(res.status).toBe(403);
  });

  it("lets a new address accept with the mailed token and choose its name", async () => {
    const owner = await signup();
    const email = unique("newbie");
    await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email, role: "member" },
    });
    const res = await call("/v1/invitations/accept", {
      method: "POST",
      json: { token: await mailedToken(email), name: "Newbie" },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      role: "member",
      user: { email, name: "Newbie" },
      organization: { id: owner.orgId },
    });
  });

  it("admits exactly one of many concurrent acceptances of one token", async () => {
    const owner = await signup();
    const email = unique("race");
    await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email },
    });
    const token = await mailedToken(email);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        call("/v1/invitations/accept", { method: "POST", json: { token } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 404)).toHaveLength(7);
  });

  it("voids an earlier open invitation when the address is invited again", async () => {
    const owner = await signup();
    const email = unique("twice");
    await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email, role: "admin" },
    });
    const first = await mailedToken(email);
    await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      key: owner.apiKey,
      json: { email, role: "member" },
    });
    const second = await mailedToken(email);
    expect(second).not.toBe(first);
    expect(
      (await call("/v1/invitations/accept", { method: "POST", json: { token: first } })).status,
    ).toBe(404);
    const ok = await call("/v1/invitations/accept", { method: "POST", json: { token: second } });
    expect(((await ok.json()) as { role: string }).role).toBe("member");
  });

  it("voids an invitation whose inviter was demoted below the role it grants", async () => {
    const owner = await signup();
    const admin = await invite(owner, "inviter", "admin");
    const email = unique("accomplice");
    expect(
      (
        await call(`/v1/organizations/${owner.orgId}/members`, {
          method: "POST",
          key: admin.apiKey,
          json: { email, role: "admin" },
        })
      ).status,
    ).toBe(201);
    await call(`/v1/organizations/${owner.orgId}/members/${admin.userId}`, {
      method: "PATCH",
      key: owner.apiKey,
      json: { role: "member" },
    });
    const res = await call("/v1/invitations/accept", {
      method: "POST",
      json: { token: await mailedToken(email) },
    });
    expect(res.status).toBe(404);
  });

  it("keeps control characters of an organization's name out of the mail's subject", async () => {
    const tag = Math.random().toString(36).slice(2, 10);
    const res = await call("/v1/signup", {
      method: "POST",
      json: {
        email: `crlf-${tag}@example.test`,
        name: "Owner",
        organization: { name: "Acme\r\nBcc: victim@evil.example", slug: `crlf-${tag}` },
      },
    });
    expect(res.status).toBe(201);
    const owner = (await res.json()) as { apiKey: string; organization: { id: string } };
    const email = unique("subject");
    expect(
      (
        await call(`/v1/organizations/${owner.organization.id}/members`, {
          method: "POST",
          key: owner.apiKey,
          json: { email },
        })
      ).status,
    ).toBe(201);
    const subject = (await latestMail(email))?.subject ?? "";
    expect(subject).toContain("Acme");
    expect(subject).not.toMatch(/[\r\n]/);
  });
});
