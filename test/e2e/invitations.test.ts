/**
 * The members walkthrough of docs/api.md against the running platform: an invitation is mailed to the
 * mail stand-in that the harness (like npm start) runs, the invitee reads it there and joins.
 */
import { describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const mail = inject("mail");

async function post(path: string, body: unknown, key?: string): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
    body: JSON.stringify(body),
  });
}

describe("members and invitations, as docs/api.md walks them", () => {
  it("mails the token to the invitee's stand-in mailbox, never to the inviter, and the invitee joins", async () => {
    const tag = `inv${Date.now()}`;
    const owner = (await (
      await post("/v1/signup", {
        email: `${tag}-owner@example.test`,
        name: "Owner",
        organization: { name: "Inviters", slug: `inviters-${tag}` },
      })
    ).json()) as { apiKey: string; organization: { id: string } };
    const grace = `${tag}-grace@example.test`;
    const invited = await post(
      `/v1/organizations/${owner.organization.id}/members`,
      { email: grace, role: "admin" },
      owner.apiKey,
    );
    expect(invited.status).toBe(201);
    expect(await invited.text()).not.toContain("ati_");

    const page = await (await fetch(`${mail}/`)).text();
    expect(page).toContain(grace);
    const list = (await (await fetch(`${mail}/api/v1/messages`)).json()) as {
      messages: { ID: string; To: { Address: string }[] }[];
    };
    const id = list.messages.find((m) => m.To.some((t) => t.Address === grace))?.ID;
    const message = (await (await fetch(`${mail}/api/v1/message/${id}`)).json()) as {
      Text: string;
    };
    const token = /ati_[0-9A-Za-z]{40}/.exec(message.Text)?.[0] ?? "";
    expect(message.Text).toContain(`${base}/v1/invitations/accept`);

    const accepted = await post("/v1/invitations/accept", { token, name: "Grace" });
    expect(accepted.status).toBe(201);
    const creds = (await accepted.json()) as { apiKey: string; role: string };
    expect(creds.role).toBe("admin");
    const me = (await (
      await fetch(`${base}/v1/me`, { headers: { "x-api-key": creds.apiKey } })
    ).json()) as { organization: { id: string }; user: { name: string } };
    expect(me).toMatchObject({
      organization: { id: owner.organization.id },
      user: { name: "Grace" },
    });
  });
});
