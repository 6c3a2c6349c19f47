/**
 * Inbound webhook signatures, pure (no I/O): each check works on the raw bytes as received,
 * compares in constant time, and accepts a timestamp at most five minutes off in either
 * direction.
 * - Slack v0: `X-Slack-Signature: v0=<hex HMAC-SHA256(signingSecret, "v0:" + ts + ":" + body)>`,
 *   `X-Slack-Request-Timestamp` in seconds (https://api.slack.com/authentication/verifying-requests-from-slack).
 * - HubSpot v3: `X-HubSpot-Signature-v3: <base64 HMAC-SHA256(clientSecret, method + uri + body + ts)>`,
 *   `X-HubSpot-Request-Timestamp` in milliseconds (https://developers.hubspot.com/docs/api/webhooks/validating-requests).
 */
import { toHex } from "../platform/crypto/encoding";
import { hmacSha256 as hmac, secretsEqual } from "../platform/crypto/hash";
import type { NoFields, Result } from "../contract/result";

export const WINDOW_SECONDS = 300;

export type Verdict = Result<
  NoFields,
  { reason: "missing" | "malformed" | "outside-window" | "mismatch" }
>;

function inWindow(tsSeconds: number, nowSeconds: number): boolean {
  return Math.abs(nowSeconds - tsSeconds) <= WINDOW_SECONDS;
}

export async function slackSignature(
  secret: string,
  timestamp: string,
  body: string,
): Promise<string> {
  return `v0=${toHex(await hmac(secret, `v0:${timestamp}:${body}`))}`;
}

export async function verifySlack(
  secret: string,
  headers: { signature?: string | null; timestamp?: string | null },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<Verdict> {
  if (!headers.signature || !headers.timestamp) return { ok: false, reason: "missing" };
  if (!/^\d{1,12}$/.test(headers.timestamp) || !/^v0=[0-9a-f]{64}$/.test(headers.signature))
    return { ok: false, reason: "malformed" };
  if (!inWindow(Number(headers.timestamp), nowSeconds))
    return { ok: false, reason: "outside-window" };
  return (await secretsEqual(
    await slackSignature(secret, headers.timestamp, body),
    headers.signature,
  ))
    ? { ok: true }
    : { ok: false, reason: "mismatch" };
}

export async function hubspotSignature(
  secret: string,
  method: string,
  uri: string,
  body: string,
  timestampMs: string,
): Promise<string> {
  const mac = await hmac(secret, `${method}${uri}${body}${timestampMs}`);
  let bin = "";
  for (const b of mac) bin += String.fromCharCode(b);
  return btoa(bin);
}

export async function verifyHubspot(
  secret: string,
  req: { method: string; uri: string; signature?: string | null; timestamp?: string | null },
  body: string,
  nowMs = Date.now(),
): Promise<Verdict> {
  if (!req.signature || !req.timestamp) return { ok: false, reason: "missing" };
  if (!/^\d{1,15}$/.test(req.timestamp) || !/^[A-Za-z0-9+/]{43}=$/.test(req.signature))
    return { ok: false, reason: "malformed" };
  if (!inWindow(Math.floor(Number(req.timestamp) / 1000), Math.floor(nowMs / 1000)))
    return { ok: false, reason: "outside-window" };
  return (await secretsEqual(
    await hubspotSignature(secret, req.method, req.uri, body, req.timestamp),
    req.signature,
  ))
    ? { ok: true }
    : { ok: false, reason: "mismatch" };
}
