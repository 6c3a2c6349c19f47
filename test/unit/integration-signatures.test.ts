import { describe, expect, it } from "vitest";
import {
  hubspotSignature,
  slackSignature,
  verifyHubspot,
  verifySlack,
} from "../../src/integrations/signatures";

// Slack's published example (api.slack.com/authentication/verifying-requests-from-slack).
const SLACK = {
  secret: "8f742231b10e8888abcd99yyyzzz85a5",
  timestamp: "1531420618",
  body: "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
  signature: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
};

describe("Slack request signing v0", () => {
  it("reproduces Slack's published example", async () => {
    expect(await slackSignature(SLACK.secret, SLACK.timestamp, SLACK.body)).toBe(SLACK.signature);
    expect(
      await verifySlack(
        SLACK.secret,
        { signature: SLACK.signature, timestamp: SLACK.timestamp },
        SLACK.body,
        Number(SLACK.timestamp),
      ),
    ).toEqual({ ok: true });
  });

  it("refuses one changed byte and a re-serialised body", async () => {
    const h = { signature: SLACK.signature, timestamp: SLACK.timestamp };
    expect(
      await verifySlack(
        SLACK.secret,
        h,
        SLACK.body.replace("roadrunner", "roadrunnex"),
        Number(SLACK.timestamp),
      ),
    ).toEqual({ ok: false, reason: "mismatch" });
    const json = '{"type":"event_callback","event":{"text":"hi"}}';
    const sig = await slackSignature(SLACK.secret, SLACK.timestamp, json);
    expect(
      (
        await verifySlack(
          SLACK.secret,
          { signature: sig, timestamp: SLACK.timestamp },
          JSON.stringify(JSON.parse(json), null, 2),
          Number(SLACK.timestamp),
        )
      ).ok,
    ).toBe(false);
  });

  it.each([
    [299, true],
    [-299, true],
    [301, false],
    [-301, false],
  ])("with the clock %i s off: accepted = %s", async (skew, ok) => {
    const r = await verifySlack(
      SLACK.secret,
      { signature: SLACK.signature, timestamp: SLACK.timestamp },
      SLACK.body,
      Number(SLACK.timestamp) + skew,
    );
    expect(r.ok).toBe(ok);
  });

  it.each([
    [{ signature: null, timestamp: SLACK.timestamp }, "missing"],
    [{ signature: "v1=abc", timestamp: SLACK.timestamp }, "malformed"],
    [{ signature: SLACK.signature, timestamp: "soon" }, "malformed"],
  ])("refuses headers %j", async (h, reason) => {
    expect(await verifySlack(SLACK.secret, h, SLACK.body, Number(SLACK.timestamp))).toEqual({
      ok: false,
      reason,
    });
  });
});

describe("HubSpot signature v3", () => {
  const secret = "hubspot-app-client-secret";
  const uri = "https://atoll.example/v1/webhooks/con_123";
  const body = '[{"eventId":1,"subscriptionType":"contact.propertyChange","objectId":101}]';
  const ts = "1764000000000";

  it("is base64 HMAC-SHA256 of method + URI + body + timestamp", async () => {
    // Python: base64.b64encode(hmac.new(secret, b"POST" + uri + body + ts, sha256).digest())
    expect(await hubspotSignature(secret, "POST", uri, body, ts)).toBe(
      "1OtLSHNKhenoDfkCRIhdxEw+fpH4p/4OvI9fYtsWPNo=",
    );
  });

  it.each([
    [299_000, true],
    [-299_000, true],
    [301_000, false],
    [-301_000, false],
  ])("with the clock %i ms off: accepted = %s", async (skew, ok) => {
    const signature = await hubspotSignature(secret, "POST", uri, body, ts);
    expect(
      (
        await verifyHubspot(
          secret,
          { method: "POST", uri, signature, timestamp: ts },
          body,
          Number(ts) + skew,
        )
      ).ok,
    ).toBe(ok);
  });

  it("refuses one changed byte, another URI and another method", async () => {
    const signature = await hubspotSignature(secret, "POST", uri, body, ts);
    expect(
      (
        await verifyHubspot(
          secret,
          { method: "POST", uri, signature, timestamp: ts },
          body.replace("101", "102"),
          Number(ts),
        )
      ).ok,
    ).toBe(false);
    expect(
      (
        await verifyHubspot(
          secret,
          { method: "POST", uri: `${uri}x`, signature, timestamp: ts },
          body,
          Number(ts),
        )
      ).ok,
    ).toBe(false);
    expect(
      (
        await verifyHubspot(
          secret,
          { method: "PUT", uri, signature, timestamp: ts },
          body,
          Number(ts),
        )
      ).ok,
    ).toBe(false);
  });
});
