/**
 * Slack: a bot token (`xoxb-…`) checked with auth.test (Slack answers HTTP 200 with
 * `{"ok":false,"error":…}` for bad tokens), Web API calls such as chat.postMessage, and the
 * Events API: requests signed with v0 under the signing secret, the `url_verification`
 * handshake answered with its challenge, events de-duplicated by `event_id`.
 */
import { z } from "zod";
import { providerRequest } from "../http";
import { verifySlack } from "../signatures";
import type { Connector } from "./types";

const Credentials = z
  .object({
    botToken: z.string().regex(/^xoxb-[A-Za-z0-9-]+$/, "must be a bot token (xoxb-…)"),
    signingSecret: z
      .string()
      .min(16)
      .max(128)
      .describe("Verifies Events API requests (signature v0)"),
  })
  .strict();
const AuthTest = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  team_id: z.string().optional(),
});
const Envelope = z.discriminatedUnion("type", [
  z.object({ type: z.literal("url_verification"), challenge: z.string().max(200) }),
  z
    .object({
      type: z.literal("event_callback"),
      event_id: z.string().max(100),
      event: z.object({ type: z.string().max(100) }).passthrough(),
    })
    .passthrough(),
]);

export const slack: Connector<z.infer<typeof Credentials>> = {
  provider: "slack",
  label: "Slack",
  credentials: Credentials,
  defaultBaseUrl: "https://slack.com",
  objects: {},
  async authenticate(baseUrl, c, egress) {
    const res = await providerRequest({
      url: `${baseUrl}/api/auth.test`,
      method: "POST",
      headers: { authorization: `Bearer ${c.botToken}` },
      schema: AuthTest,
      secrets: [c.botToken, c.signingSecret],
      egress,
      retries: 1,
    });
    if (!res.ok) return res;
    if (!res.data.ok)
      return { ok: false, reason: "auth", status: 200, message: res.data.error ?? "invalid_auth" };
    return { ...res, data: { accessToken: c.botToken, expiresAt: null } };
  },
  authorize: (g) => ({ authorization: `Bearer ${g.accessToken}` }),
  errorMessage: (b) =>
    b && typeof b === "object" && "error" in b
      ? String((b as { error: unknown }).error)
      : undefined,
  async webhook(c, req) {
    const verdict = await verifySlack(
      c.signingSecret,
      {
        signature: req.headers.get("x-slack-signature"),
        timestamp: req.headers.get("x-slack-request-timestamp"),
      },
      req.rawBody,
      Math.floor(req.now / 1000),
    );
    if (!verdict.ok) return { kind: "refused", reason: `signature ${verdict.reason}` };
    let env: z.infer<typeof Envelope>;
    try {
      env = Envelope.parse(JSON.parse(req.rawBody));
    } catch {
      return { kind: "refused", reason: "not a Slack Events API request" };
    }
    if (env.type === "url_verification")
      return { kind: "handshake", body: { challenge: env.challenge } };
    return {
      kind: "events",
      events: [
        { id: env.event_id, topic: `slack.${env.event.type.toLowerCase()}`, payload: env.event },
      ],
    };
  },
};
