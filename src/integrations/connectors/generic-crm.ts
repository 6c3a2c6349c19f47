/**
 * The generic CRM of the sketch's `CRMIntegration`: a base URL, OAuth 2.0 client credentials at a
 * configurable token path (JSON body; `expires_in` honoured), and a contacts endpoint with
 * `updated_since` + `cursor` paging and `PUT {contactsPath}/{externalId}` upserts.
 */
import { z } from "zod";
import { providerRequest } from "../http";
import type { Connector } from "./types";

const PATH = z
  .string()
  .regex(/^\/[A-Za-z0-9/_.-]{0,100}$/, "must be an absolute path such as /contacts");
const Credentials = z
  .object({
    clientId: z.string().min(1).max(255),
    clientSecret: z.string().min(1).max(255),
    tokenPath: PATH.default("/oauth/token"),
    contactsPath: PATH.default("/contacts"),
  })
  .strict() as unknown as z.ZodType<{
  clientId: string;
  clientSecret: string;
  tokenPath: string;
  contactsPath: string;
}>;
const Token = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().int().positive().optional(),
});
const Page = z.object({
  data: z.array(z.object({ id: z.string(), updated_at: z.string() }).passthrough()).max(500),
  next_cursor: z.string().nullable().optional(),
});
const Saved = z.object({ id: z.string() }).passthrough();

export const genericCrm: Connector<{
  clientId: string;
  clientSecret: string;
  tokenPath: string;
  contactsPath: string;
}> = {
  provider: "generic-crm",
  label: "Generic CRM",
  credentials: Credentials,
  defaultBaseUrl: "",
  objects: {
    contacts: {
      fields: ["email", "first_name", "last_name", "phone", "company", "title"],
      source: true,
      target: true,
    },
  },
  async authenticate(baseUrl, c, egress) {
    const res = await providerRequest({
      url: `${baseUrl}${c.tokenPath}`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: c.clientId,
        client_secret: c.clientSecret,
      }),
      schema: Token,
      errorMessage: genericCrm.errorMessage,
      secrets: [c.clientSecret],
      egress,
      retries: 1,
    });
    if (!res.ok) return res;
    return {
      ...res,
      data: {
        accessToken: res.data.access_token,
        expiresAt: res.data.expires_in ? Date.now() + res.data.expires_in * 1000 : null,
      },
    };
  },
  authorize: (g) => ({ authorization: `Bearer ${g.accessToken}` }),
  errorMessage: (b) =>
    b && typeof b === "object" && "error" in b
      ? `${String((b as { error: unknown }).error)}${"error_description" in b ? `: ${String((b as { error_description: unknown }).error_description)}` : ""}`
      : undefined,
  async fetchChanged(send, _object, cursor, limit, c) {
    // The cursor is "<updated_since>|<page cursor>".
    const [since = "", page = ""] = (cursor ?? "").split("|");
    const q = new URLSearchParams({ updated_since: since, limit: String(limit) });
    if (page) q.set("cursor", page);
    const res = await send({ path: `${c.contactsPath}?${q}`, schema: Page });
    if (!res.ok) return res;
    const records = res.data.data.map((r) => ({
      id: r.id,
      modifiedAt: new Date(r.updated_at).toISOString(),
      data: r as Record<string, unknown>,
    }));
    const next = res.data.next_cursor ?? null;
    return {
      ...res,
      data: {
        records,
        cursor: next ? `${since}|${next}` : (records.at(-1)?.modifiedAt ?? since) + "|",
        done: next === null,
      },
    };
  },
  async upsert(send, _object, externalId, fields, c) {
    const res = await send({
      path: `${c.contactsPath}/${encodeURIComponent(externalId)}`,
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(fields),
      schema: Saved,
    });
    if (!res.ok) return res;
    return { ...res, data: { id: res.data.id, created: res.status === 201 } };
  },
};
