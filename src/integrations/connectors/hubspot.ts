/**
 * HubSpot: a private-app token (Bearer) checked against account-info; CRM v3 contacts with the
 * search endpoint for incremental fetch; webhooks signed with signature v3 under the app's client
 * secret.
 *
 * The search API takes one sort rule, and orders ties of it in no particular order, so a page
 * sorted by lastmodifieddate that ends inside a group of records sharing one timestamp cannot say
 * which of that group are left. Such a page delivers only the records before that timestamp, and
 * the group is then read by itself (`lastmodifieddate` = that instant, sorted by hs_object_id,
 * paged by id) before the fetch goes on after it: every record once, however many share one
 * timestamp (./cursors.ts).
 */
import { z } from "zod";
import { providerRequest } from "../http";
import { verifyHubspot } from "../signatures";
import {
  HUBSPOT_ID,
  formatHubspotCursor,
  hubspotIdLess,
  parseHubspotCursor,
  type HubspotCursor,
} from "./cursors";
import type { ChangedRecord, Connector, InboundEvent } from "./types";

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
      z
        .object({
          // The cursor carries an id and a timestamp: both must be what HubSpot sends.
          id: z.string().regex(HUBSPOT_ID),
          properties: z.record(z.string(), z.string().nullable()),
          updatedAt: z.string(),
        })
        .refine(
          (r) => Number.isFinite(Date.parse(r.properties.lastmodifieddate ?? r.updatedAt)),
          "lastmodifieddate must be a datetime",
        ),
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
    const size = Math.min(Math.max(1, limit), 100);
    let at = parseHubspotCursor(cursor);
    // At most three searches: a page ending in a tie with nothing before it goes on to the tie,
    // an instant found exhausted goes on after it.
    for (let step = 0; step < 3; step++) {
      const res = await send({
        path: "/crm/v3/objects/contacts/search",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(searchBody(at, size)),
        schema: Search,
      });
      if (!res.ok) return res;
      const records: ChangedRecord[] = res.data.results.map((r) => ({
        id: r.id,
        modifiedAt: new Date(r.properties.lastmodifieddate ?? r.updatedAt).toISOString(),
        data: { id: r.id, ...r.properties },
      }));
      const page = (recs: ChangedRecord[], next: HubspotCursor, done = false) => ({
        ...res,
        data: { records: recs, cursor: formatHubspotCursor(next), done },
      });
      if (at.kind === "tie") {
        if (records.length >= size) {
          const last = records.reduce(
            (m, r) => (hubspotIdLess(m, r.id) ? r.id : m),
            records[0]!.id,
          );
          return page(records, { kind: "tie", ms: at.ms, id: last });
        }
        // The instant is exhausted: what comes next was modified after it.
        const next: HubspotCursor = { kind: "after", ms: at.ms };
        if (records.length > 0) return page(records, next);
        at = next;
        continue;
      }
      const latest = Math.max(...records.map((r) => Date.parse(r.modifiedAt)));
      if (records.length < size)
        return records.length > 0
          ? page(records, { kind: "after", ms: latest }, true)
          : {
              ...res,
              data: {
                records,
                cursor: at.kind === "after" && at.ms < 0 ? null : formatHubspotCursor(at),
                done: true,
              },
            };
      // A full page: the records at its latest instant may not all be on it (ties are unordered).
      const before = records.filter((r) => Date.parse(r.modifiedAt) < latest);
      const next: HubspotCursor = { kind: "tie", ms: latest, id: null };
      if (before.length > 0) return page(before, next);
      at = next;
    }
    // Nothing new in three searches (records moving while we look): the next page tries again.
    return {
      ok: true,
      status: 200,
      headers: new Headers(),
      data: { records: [], cursor: formatHubspotCursor(at), done: false },
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

/** The search for a cursor: after an instant by lastmodifieddate, or within one by id. */
function searchBody(at: HubspotCursor, limit: number) {
  const properties = [...FIELDS, "lastmodifieddate"];
  if (at.kind === "tie")
    return {
      filterGroups: [
        {
          filters: [
            { propertyName: "lastmodifieddate", operator: "GTE", value: String(at.ms) },
            { propertyName: "lastmodifieddate", operator: "LTE", value: String(at.ms) },
            ...(at.id ? [{ propertyName: "hs_object_id", operator: "GT", value: at.id }] : []),
          ],
        },
      ],
      sorts: [{ propertyName: "hs_object_id", direction: "ASCENDING" }],
      properties,
      limit,
    };
  return {
    filterGroups:
      at.ms >= 0
        ? [
            {
              filters: [{ propertyName: "lastmodifieddate", operator: "GT", value: String(at.ms) }],
            },
          ]
        : [],
    sorts: [{ propertyName: "lastmodifieddate", direction: "ASCENDING" }],
    properties,
    limit,
  };
}
