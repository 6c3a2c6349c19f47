/**
 * Salesforce: OAuth 2.0 client credentials at `/services/oauth2/token` (the answer's
 * `instance_url` is where API calls go; no expiry is given, so a 401 INVALID_SESSION_ID triggers a
 * refresh), sObjects REST, incremental fetch by SOQL in (SystemModstamp, Id) order — the cursor is
 * the last record delivered, so records sharing a timestamp across a page boundary are neither
 * skipped nor repeated (./cursors.ts) — and idempotent upsert by an external-id field
 * (`PATCH /sobjects/Contact/Atoll_External_Id__c/{id}`).
 */
import { z } from "zod";
import { checkEgressUrl } from "../egress-policy";
import { egressRefused, providerRequest } from "../http";
import {
  SALESFORCE_ID,
  formatSalesforceCursor,
  parseSalesforceCursor,
  salesforceWhere,
} from "./cursors";
import type { Connector } from "./types";

export const API = "/services/data/v59.0";
export const EXTERNAL_ID_FIELD = "Atoll_External_Id__c";
const FIELDS = ["FirstName", "LastName", "Email", "Phone", "Title", "Department"] as const;

const Credentials = z
  .object({ clientId: z.string().min(1).max(255), clientSecret: z.string().min(1).max(255) })
  .strict();
const Token = z.object({
  access_token: z.string().min(1),
  instance_url: z.string().url(),
  token_type: z.string().optional(),
});
const Query = z.object({
  totalSize: z.number().int(),
  done: z.boolean(),
  records: z
    .array(
      z
        .object({
          // The cursor carries the last Id and timestamp: both must be what Salesforce sends.
          Id: z.string().regex(SALESFORCE_ID),
          SystemModstamp: z.string().refine((t) => Number.isFinite(Date.parse(t)), "a datetime"),
        })
        .passthrough(),
    )
    .max(2000),
});
const Upserted = z.object({
  id: z.string(),
  success: z.boolean(),
  created: z.boolean().optional(),
});

export const salesforce: Connector<z.infer<typeof Credentials>> = {
  provider: "salesforce",
  label: "Salesforce",
  credentials: Credentials,
  defaultBaseUrl: "https://login.salesforce.com",
  objects: { contacts: { fields: FIELDS, source: true, target: true, required: ["LastName"] } },
  async authenticate(baseUrl, c, egress) {
    const res = await providerRequest({
      url: `${baseUrl}/services/oauth2/token`,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: c.clientId,
        client_secret: c.clientSecret,
      }).toString(),
      schema: Token,
      errorMessage: (b) =>
        b && typeof b === "object" && "error" in b
          ? `${String((b as { error: unknown }).error)}: ${String((b as { error_description?: unknown }).error_description ?? "")}`
          : undefined,
      secrets: [c.clientSecret],
      retries: 1,
      egress,
    });
    // Salesforce answers a bad client with 400 invalid_client: that is a credential problem.
    if (!res.ok) return res.reason === "invalid" ? { ...res, reason: "auth" } : res;
    // The instance URL is the provider's to name, so it passes the same policy as a base URL (and
    // again at every use, in the broker: a grant stored earlier gains nothing either).
    const instance = checkEgressUrl(res.data.instance_url, egress);
    if (!instance.ok)
      return egressRefused(res.data.instance_url, instance, "the token answer's instance_url");
    return {
      ...res,
      data: {
        accessToken: res.data.access_token,
        expiresAt: null,
        instanceUrl: res.data.instance_url,
      },
    };
  },
  authorize: (g) => ({ authorization: `Bearer ${g.accessToken}` }),
  errorMessage: (b) =>
    Array.isArray(b) && b[0] && typeof b[0] === "object"
      ? `${String((b[0] as { errorCode?: unknown }).errorCode)}: ${String((b[0] as { message?: unknown }).message)}`
      : undefined,
  async fetchChanged(send, _object, cursor, limit) {
    const size = Math.min(Math.max(1, limit), 2000);
    const where = salesforceWhere(parseSalesforceCursor(cursor));
    const soql = `SELECT Id, ${FIELDS.join(", ")}, SystemModstamp FROM Contact${where} ORDER BY SystemModstamp ASC, Id ASC LIMIT ${size}`;
    const res = await send({ path: `${API}/query?q=${encodeURIComponent(soql)}`, schema: Query });
    if (!res.ok) return res;
    const records = res.data.records.map((r) => ({
      id: r.Id,
      modifiedAt: new Date(r.SystemModstamp).toISOString(),
      data: r as Record<string, unknown>,
    }));
    const last = records.at(-1);
    return {
      ...res,
      data: {
        records,
        cursor: last ? formatSalesforceCursor(last.modifiedAt, last.id) : cursor,
        done: records.length < size,
      },
    };
  },
  async upsert(send, _object, externalId, fields) {
    const res = await send({
      path: `${API}/sobjects/Contact/${EXTERNAL_ID_FIELD}/${encodeURIComponent(externalId)}`,
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(fields),
      schema: Upserted,
    });
    if (!res.ok) return res;
    return { ...res, data: { id: res.data.id, created: res.status === 201 } };
  },
};
