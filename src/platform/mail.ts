/**
 * Outgoing mail (invitations). In production through Cloudflare Email's `send_email` binding
 * named `MAIL` (wrangler.toml, `[[env.production.send_email]]`); locally to the mail stand-in
 * (scripts/standins/mail.mjs, Mailpit's `POST /api/v1/send`) at `ATOLL_MAIL_URL`, where a
 * developer reads it. With neither, nothing is sent and the caller gets a clear 503.
 */
import { ApiError } from "./http/problem";

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

function mailUnavailable(internal: string): ApiError {
  return new ApiError({
    status: 503,
    type: "mail-unavailable",
    title: "Service unavailable",
    detail: "The invitation could not be mailed; try again shortly.",
    internal,
    headers: { "retry-after": "5" },
  });
}

/** Sends one message; throws a 503 ApiError when no mail service is configured or it fails. */
export async function sendMail(env: Env, mail: Mail): Promise<void> {
  const from = env.ATOLL_MAIL_FROM;
  if (env.MAIL) {
    try {
      await env.MAIL.send({ from, to: mail.to, subject: mail.subject, text: mail.text });
    } catch (err) {
      throw mailUnavailable(`send_email failed: ${String(err)}`);
    }
    return;
  }
  if (!env.ATOLL_MAIL_URL) throw mailUnavailable("no MAIL binding and no ATOLL_MAIL_URL");
  let res: Response;
  try {
    const url = new URL("/api/v1/send", env.ATOLL_MAIL_URL);
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        From: { Email: from, Name: "Atoll" },
        To: [{ Email: mail.to, Name: "" }],
        Subject: mail.subject,
        Text: mail.text,
      }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (err) {
    throw mailUnavailable(`mail stand-in unreachable: ${String(err)}`);
  }
  if (!res.ok) throw mailUnavailable(`mail stand-in answered ${res.status}`);
}
