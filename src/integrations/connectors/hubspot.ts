/**
 * HubSpot: a private-app token (Bearer) checked against account-info; CRM v3 contacts with the
 * search endpoint for incremental fetch (`lastmodifieddate GT cursor`, ascending); webhooks
 * signed with signature v3 under the app's client secret.
 */
import { z } from "zod";
import { providerRequest } from "../http";
import { verifyHubspot } from "../signatures";
import type { Connector, InboundEvent } from "./types";

const FIELDS = ["email", "firstname", "lastname", "phone", "jobtitle", "company"] as const;

const Credentials = z
  .object({
    accessToken: z
      .string()
      .regex(/^pat-[a-z0-9]+-[A-Za-z0-9-]+$/, "must be a private-app token (pat-…)"),
    clientSecret: z
      .string()
      .min(8)
      .max(255)
      .optional()
      .describe("The app's client secret: verifies webhook signatures (v3)"),
  })
  .strict();
const Account = z.object({ portalId: z.number().int() });
const Search = z.object({
  total: z.number().int(),
  results: z
    .array(
      z.object({
        id: z.string(),
        properties: z.record(z.string(), z.string().nullable()),
        updatedAt: z.string(),
      }),
    )
    .max(200),
});
const Events = z
  .array(
    z
      .object({
        eventId: z.union([z.number(), z.string()]),
        subscriptionType: z.string().max(100),
        objectId: z.union([z.number(), z.string()]).optional(),
      })
      .passthrough(),
  )
  .max(100);

export const hubspot: Connector<z.infer<typeof Credentials>> = {
  provider: "hubspot",
  label: "HubSpot",
  credentials: Credentials,
  defaultBaseUrl: "https://api.hubapi.com",
  objects: { contacts: { fields: FIELDS, source: true, target: false } },
  async authenticate(baseUrl, c, egress) {
    const res = await providerRequest({
      url: `${baseUrl}/account-info/v3/details`,
      headers: { authorization: `Bearer ${c.accessToken}` },
      schema: Account,
      errorMessage: hubspot.errorMessage,
      secrets: [c.accessToken],
      egress,
      retries: 1,
    });
    if (!res.ok) return res;
    return { ...res, data: { accessToken: c.accessToken, expiresAt: null } };
  },
  authorize: (g) => ({ authorization: `Bearer ${g.accessToken}` }),
  errorMessage: (b) =>
    b && typeof b === "object" && "message" in b
      ? `${String((b as { category?: unknown }).category ?? "error")}: ${String((b as { message: unknown }).message)}`
      : undefined,
  async fetchChanged(send, _object, cursor, limit) {
    const since = cursor && /^\d{1,15}$/.test(cursor) ? cursor : "0";
    const body = {
      filterGroups: [
        { filters: [{ propertyName: "lastmodifieddate", operator: "GT", value: since }] },
      ],
      sorts: [{ propertyName: "lastmodifieddate", direction: "ASCENDING" }],
      properties: [...FIELDS, "lastmodifieddate"],
      limit: Math.min(Math.max(1, limit), 100),
    };
    const res = await send({
      path: "/crm/v3/objects/contacts/search",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      schema: Search,
    });
    if (!res.ok) return res;
    const records = res.data.results.map((r) => ({
      id: r.id,
      modifiedAt: new Date(r.properties.lastmodifieddate ?? r.updatedAt).toISOString(),
      data: { id: r.id, ...r.properties },
    }));
    const last = records.at(-1);
    return {
      ...res,
      data: {
        records,
        cursor: last ? String(Date.parse(last.modifiedAt)) : cursor,
        done: records.length < body.limit,
      },
    };
  },
  async webhook(c, req) {
    if (!c.clientSecret)
      return {
        kind: "refused",
        reason: "the connection has no clientSecret to verify HubSpot signatures",
      };
    const verdict = await verifyHubspot(
      c.clientSecret,
      {
        method: req.method,
        uri: req.url,
        signature: req.headers.get("x-hubspot-signature-v3"),
        timestamp: req.headers.get("x-hubspot-request-timestamp"),
      },
      req.rawBody,
      req.now,
    );
    if (!verdict.ok) return { kind: "refused", reason: `signature ${verdict.reason}` };
    let parsed: z.infer<typeof Events>;
    try {
      parsed = Events.parse(JSON.parse(req.rawBody));
    } catch {
      return { kind: "refused", reason: "not a HubSpot event batch" };
    }
    const events: InboundEvent[] = parsed.map((e) => ({
      id: String(e.eventId),
      topic: `hubspot.${e.subscriptionType.toLowerCase()}`,
      payload: e,
    }));
    return { kind: "events", events };
  },
};
