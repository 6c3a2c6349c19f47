/** Helpers for integration tests: the SaaS stand-ins and connections to them. */
import { inject } from "vitest";
import { call, type Account } from "./helpers";

export const saas = () => inject("saas");

export const CREDENTIALS = {
  hubspot: { accessToken: "pat-na1-standin-token", clientSecret: "hubspot-client-secret-1" },
  salesforce: { clientId: "sf-client", clientSecret: "sf-secret" },
  slack: { botToken: "xoxb-standin-bot-token", signingSecret: "slack-signing-secret-0123456789" },
  "generic-crm": { clientId: "crm-client", clientSecret: "crm-secret" },
} as const;

export function connect(
  account: Account,
  provider: keyof typeof CREDENTIALS,
  extra: Record<string, unknown> = {},
): Promise<Response> {
  return call("/v1/connections", {
    method: "POST",
    key: account.apiKey,
    json: {
      provider,
      credentials: CREDENTIALS[provider],
      environment: "production",
      baseUrl: `${saas()}/${provider === "generic-crm" ? "crm" : provider}`,
      ...extra,
    },
  });
}

export async function connected(
  account: Account,
  provider: keyof typeof CREDENTIALS,
): Promise<{ id: string; webhookUrl: string }> {
  const res = await connect(account, provider);
  if (res.status !== 201) throw new Error(`connect ${provider}: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function standin<T = Record<string, unknown>>(
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(
    `${saas()}${path}`,
    body === undefined ? {} : { method: "POST", body: JSON.stringify(body) },
  );
  return res.json() as Promise<T>;
}

export async function until<T>(
  probe: () => Promise<T | null | undefined | false>,
  ms = 5000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}
