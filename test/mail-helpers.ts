/** Helpers that read the mail stand-in (scripts/standins/mail.mjs), as an invitee reads mail. */
import { inject } from "vitest";
import { call, type Account } from "./helpers";

interface Summary {
  ID: string;
  To: { Address: string }[];
  Subject: string;
}

/** The newest message to `email`, with its text (or null). */
export async function latestMail(email: string): Promise<{ subject: string; text: string } | null> {
  const list = (await (await fetch(`${inject("mail")}/api/v1/messages`)).json()) as {
    messages: Summary[];
  };
  const hit = list.messages.find((m) => m.To.some((t) => t.Address === email.toLowerCase()));
  if (!hit) return null;
  const full = (await (await fetch(`${inject("mail")}/api/v1/message/${hit.ID}`)).json()) as {
    Subject: string;
    Text: string;
  };
  return { subject: full.Subject, text: full.Text };
}

/** The invitation token in the newest mail to `email`. */
export async function mailedToken(email: string): Promise<string> {
  const mail = await latestMail(email);
  const token = /ati_[0-9A-Za-z]{40}/.exec(mail?.text ?? "")?.[0];
  if (!token) throw new Error(`no invitation mailed to ${email}`);
  return token;
}

export interface Joined {
  userId: string;
  apiKey: string;
  apiKeyId: string;
  role: string;
  token: string;
}

/** Invites `email` into the owner's organization and accepts as the invitee (a new account). */
export async function invite(
  owner: Pick<Account, "apiKey" | "orgId">,
  email: string,
  role: "owner" | "admin" | "member" = "member",
): Promise<Joined> {
  const res = await call(`/v1/organizations/${owner.orgId}/members`, {
    method: "POST",
    key: owner.apiKey,
    json: { email, role },
  });
  if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${await res.text()}`);
  const token = await mailedToken(email);
  const accepted = await call("/v1/invitations/accept", { method: "POST", json: { token } });
  if (accepted.status !== 201)
    throw new Error(`accept failed: ${accepted.status} ${await accepted.text()}`);
  const creds = (await accepted.json()) as {
    apiKey: string;
    apiKeyId: string;
    role: string;
    user: { id: string };
  };
  return {
    userId: creds.user.id,
    apiKey: creds.apiKey,
    apiKeyId: creds.apiKeyId,
    role: creds.role,
    token,
  };
}
