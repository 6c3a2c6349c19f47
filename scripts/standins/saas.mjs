// Local stand-ins for the SaaS providers Atoll's connectors talk to, each speaking the provider's
// documented wire format under its own path prefix (a connection's baseUrl points at it):
//   /salesforce  OAuth 2.0 client credentials (/services/oauth2/token), sObjects REST, SOQL query
//                (a real subset: WHERE with AND/OR/parentheses and = != < <= > >= on SystemModstamp
//                (datetime literals), Id and text fields (single-quoted strings with SOQL escapes),
//                ORDER BY several fields, LIMIT; anything else is MALFORMED_QUERY), upsert by
//                external id, INVALID_SESSION_ID on expired tokens (tokens live
//                `salesforceTokenTtlMs`).
//   /hubspot     private-app bearer tokens, CRM v3 contacts (create, update, search: filterGroups
//                ORed, filters within a group ANDed, GT/GTE/LT/LTE/EQ/NEQ/BETWEEN on
//                lastmodifieddate and hs_object_id; ONE sort rule at most, as HubSpot allows, with
//                ties in no particular order (deliberately not id order); `after` paging),
//                account-info for the credential check.
//   /slack       auth.test and chat.postMessage with a bot token (Slack answers HTTP 200 with
//                {"ok":false,"error":…} for bad tokens).
//   /zapier      a REST-hook catcher: what Atoll delivers to a subscribed hook URL is recorded.
//   /receiver    an Atoll webhook receiver: POST /receiver/<name> records the delivery and, when a
//                secret is registered for <name> (POST /__standin/receiver/secrets {"name","secret"}),
//                whether its Atoll-Signature verifies — computed with Node's crypto exactly as
//                docs/events.md tells a receiver to; GET /__standin/receiver/<name> lists them.
//                Faults: provider "receiver", `match` the name.
//   /crm         a generic CRM: client-credentials token (expires_in), contacts with
//                `updated_since` + cursor, PUT upsert by external id.
// Test control (not part of any provider): POST /__standin/faults {"provider","status","count",
// "retryAfter","malformed","delayMs","match"} makes the next `count` API calls of that provider
// (whose path contains `match`, if given) fail that way; POST /__standin/<provider>/contacts creates or edits a record as if a user did it in the
// provider's UI; GET /__standin/state returns everything; POST /__standin/salesforce/clients
// {"clientId","clientSecret","instanceUrl","tokenDelayMs"} registers a Salesforce client whose token
// answer names that instance_url (a hostile "Salesforce") and comes after that delay; ANY /__standin/redirect?to=<url>&status=<3xx> answers
// a redirect there.
// Equal timestamps (what a bulk import or a provider's batch job produces): POST
// /__standin/salesforce/contacts {"clientId"?, "modstamp", "contacts":[{…fields}]} and POST
// /__standin/hubspot/contacts {"token"?, "lastmodifieddate", "id"?, "properties"} or
// {"token"?, "lastmodifieddate", "batch":[{properties},…]} write records with exactly that
// modification time. Isolated tenants: POST /__standin/salesforce/clients {…, "isolated": true} gives
// that client its own org (its own contacts); POST /__standin/hubspot/portals {"token"} a portal of
// its own. GET /__standin/salesforce/orgs/<clientId> and /__standin/hubspot/portals/<token> return
// such a tenant's contacts, the SOQL/search requests it received and the upserts it took.
import { createServer } from "node:http";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The receiver's check of an Atoll webhook (docs/events.md "Verifying a delivery"): HMAC-SHA256
 * of `${t}.${rawBody}` under the secret, compared in constant time with each v1, and the
 * timestamp within five minutes.
 */
export function verifyAtollSignature(secret, header, rawBody, nowSeconds = Date.now() / 1000) {
  const parts = String(header ?? "").split(",");
  const t = parts.find((p) => p.startsWith("t="))?.slice(2);
  const v1 = parts.filter((p) => p.startsWith("v1=")).map((p) => p.slice(3));
  if (!t || v1.length === 0) return false;
  if (Math.abs(nowSeconds - Number(t)) > 300) return false;
  const expected = createHmac("sha256", secret).update(`${t}.${rawBody}`).digest();
  return v1.some((sig) => {
    const got = Buffer.from(sig, "hex");
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

export function startSaasStandIn({
  port = 0,
  host = "127.0.0.1",
  salesforceTokenTtlMs = 3_600_000,
} = {}) {
  const state = {
    salesforce: {
      clients: new Map([["sf-client", "sf-secret"]]),
      instanceUrls: new Map(),
      tokenDelays: new Map(),
      tokens: new Map(),
      contacts: new Map(),
      /** clientId → an isolated org {contacts, queries, writes}; other clients share `shared`. */
      orgs: new Map(),
      requests: 0,
    },
    hubspot: {
      tokens: new Set(["pat-na1-standin-token"]),
      contacts: new Map(),
      /** token → an isolated portal {contacts, searches}; the default token shares `shared`. */
      portals: new Map(),
      requests: 0,
    },
    slack: { tokens: new Set(["xoxb-standin-bot-token"]), messages: [] },
    zapier: { hooks: [] },
    receiver: { secrets: new Map(), deliveries: new Map() },
    crm: {
      clients: new Map([["crm-client", "crm-secret"]]),
      tokens: new Map(),
      contacts: new Map(),
      requests: 0,
    },
    faults: [],
  };
  state.salesforce.shared = { contacts: state.salesforce.contacts, queries: [], writes: [] };
  state.hubspot.shared = { contacts: state.hubspot.contacts, searches: [], nextId: 100 };
  let clock = 0;
  const nextModstamp = () => new Date(Math.max(Date.now(), ++clock)).toISOString();
  const id = (prefix, n = 15) =>
    prefix + randomBytes(n).toString("base64url").replace(/[-_]/g, "x").slice(0, n);

  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };

  /** Applies an injected fault for this provider, if any; returns true when it answered. */
  function fault(provider, res, path = "") {
    const f = state.faults.find(
      (x) =>
        x.provider === provider &&
        x.count > 0 &&
        (!x.match || decodeURIComponent(path).includes(x.match)),
    );
    if (!f) return false;
    f.count -= 1;
    const answer = () => {
      if (f.malformed) {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end("{not json");
      }
      if (f.hang) return; // never answers: the caller's timeout must fire
      send(
        res,
        f.status ?? 500,
        { message: "stand-in fault", status: "error" },
        f.retryAfter !== undefined ? { "retry-after": String(f.retryAfter) } : {},
      );
    };
    if (f.delayMs) setTimeout(answer, f.delayMs);
    else answer();
    return true;
  }

  function salesforce(req, res, path, url, body) {
    const sf = state.salesforce;
    if (path === "/services/oauth2/token" && req.method === "POST") {
      const form = new URLSearchParams(body);
      if (form.get("grant_type") !== "client_credentials")
        return send(res, 400, {
          error: "unsupported_grant_type",
          error_description: "grant type not supported",
        });
      if (sf.clients.get(form.get("client_id")) !== form.get("client_secret"))
        return send(res, 400, {
          error: "invalid_client",
          error_description: "invalid client credentials",
        });
      const token = `00D${id("", 12)}!${id("", 40)}`;
      sf.tokens.set(token, {
        exp: Date.now() + salesforceTokenTtlMs,
        clientId: form.get("client_id"),
      });
      const answer = () =>
        send(res, 200, {
          access_token: token,
          instance_url:
            sf.instanceUrls.get(form.get("client_id")) ?? `http://${req.headers.host}/salesforce`,
          id: "https://login.salesforce.com/id/00Dxx/005xx",
          token_type: "Bearer",
          issued_at: String(Date.now()),
          signature: id("", 20),
        });
      const delay = sf.tokenDelays.get(form.get("client_id")) ?? 0;
      return delay > 0 ? void setTimeout(answer, delay) : answer();
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const grant = auth ? sf.tokens.get(auth) : undefined;
    if (!grant || grant.exp < Date.now())
      return send(res, 401, [
        { message: "Session expired or invalid", errorCode: "INVALID_SESSION_ID" },
      ]);
    sf.requests += 1;
    if (fault("salesforce", res, url.pathname + url.search)) return;
    const org = sf.orgs.get(grant.clientId) ?? sf.shared;
    const base = "/services/data/v59.0";
    if (path === `${base}/query` && req.method === "GET") {
      const q = url.searchParams.get("q") ?? "";
      org.queries.push(q);
      let parsed;
      try {
        parsed = parseSoql(q);
      } catch (e) {
        return send(res, 400, [{ message: String(e.message), errorCode: "MALFORMED_QUERY" }]);
      }
      const records = [...org.contacts.values()]
        .filter((c) => !parsed.where || soqlTrue(parsed.where, c))
        .sort((a, b) => {
          for (const o of parsed.orderBy) {
            const d = soqlCompare(o.field, a[o.field], b[o.field]);
            if (d !== 0) return o.desc ? -d : d;
          }
          return 0;
        })
        .slice(0, parsed.limit ?? 2000);
      return send(res, 200, {
        totalSize: records.length,
        done: true,
        records: records.map((c) => ({
          attributes: { type: "Contact", url: `${base}/sobjects/Contact/${c.Id}` },
          ...c,
        })),
      });
    }
    const ext = new RegExp(`^${base}/sobjects/Contact/([A-Za-z_]+__c)/(.+)$`).exec(path);
    if (ext && req.method === "PATCH") {
      let fields;
      try {
        fields = JSON.parse(body);
      } catch {
        return send(res, 400, [
          { message: "The request body is not valid JSON", errorCode: "JSON_PARSER_ERROR" },
        ]);
      }
      if (!fields.LastName)
        return send(res, 400, [
          {
            message: "Required fields are missing: [LastName]",
            errorCode: "REQUIRED_FIELD_MISSING",
            fields: ["LastName"],
          },
        ]);
      const [, field, value] = ext;
      org.writes.push(decodeURIComponent(value));
      const existing = [...org.contacts.values()].find(
        (c) => c[field] === decodeURIComponent(value),
      );
      if (existing) {
        Object.assign(existing, fields, { SystemModstamp: nextModstamp() });
        return send(res, 200, { id: existing.Id, success: true, errors: [], created: false });
      }
      const c = {
        Id: id("003", 15),
        ...fields,
        [field]: decodeURIComponent(value),
        SystemModstamp: nextModstamp(),
      };
      org.contacts.set(c.Id, c);
      return send(res, 201, { id: c.Id, success: true, errors: [], created: true });
    }
    return send(res, 404, [
      { message: "The requested resource does not exist", errorCode: "NOT_FOUND" },
    ]);
  }

  function hubspot(req, res, path, url, body) {
    const hs = state.hubspot;
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!auth || !(hs.tokens.has(auth) || hs.portals.has(auth)))
      return send(res, 401, {
        status: "error",
        message: "Authentication credentials not found.",
        correlationId: id("", 8),
        category: "INVALID_AUTHENTICATION",
      });
    hs.requests += 1;
    if (fault("hubspot", res, url.pathname)) return;
    if (path === "/account-info/v3/details")
      return send(res, 200, {
        portalId: 4242,
        timeZone: "UTC",
        uiDomain: "app.hubspot.com",
        dataHostingLocation: "na1",
      });
    const portal = hs.portals.get(auth) ?? hs.shared;
    if (path === "/crm/v3/objects/contacts/search" && req.method === "POST") {
      const q = JSON.parse(body || "{}");
      portal.searches.push(q);
      const after = Number(q.after ?? 0);
      const limit = Math.min(Number(q.limit ?? 10), 200);
      let all;
      try {
        all = hubspotSearch(portal.contacts.values(), q);
      } catch (e) {
        return send(res, 400, {
          status: "error",
          message: String(e.message),
          correlationId: id("", 8),
          category: "VALIDATION_ERROR",
        });
      }
      const page = all.slice(after, after + limit);
      return send(res, 200, {
        total: all.length,
        results: page,
        ...(after + limit < all.length
          ? { paging: { next: { after: String(after + limit) } } }
          : {}),
      });
    }
    if (path === "/crm/v3/objects/contacts" && req.method === "POST") {
      const { properties } = JSON.parse(body || "{}");
      const c = hubspotContact(properties ?? {}, undefined, portal);
      return send(res, 201, c);
    }
    return send(res, 404, { status: "error", message: "Not found", category: "OBJECT_NOT_FOUND" });
  }

  function hubspotContact(properties, existing, portal = state.hubspot.shared, at = undefined) {
    const now = at ?? nextModstamp();
    const c = existing ?? {
      id: String(portal.nextId++),
      properties: {},
      createdAt: now,
      archived: false,
    };
    Object.assign(c.properties, properties, { lastmodifieddate: now, hs_object_id: c.id });
    c.updatedAt = now;
    portal.contacts.set(c.id, c);
    return c;
  }

  function slack(req, res, path, body) {
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const ok = auth && state.slack.tokens.has(auth);
    if (fault("slack", res)) return;
    if (path === "/api/auth.test")
      return send(
        res,
        200,
        ok
          ? {
              ok: true,
              url: "https://standin.slack.com/",
              team: "Stand-in",
              user: "atoll",
              team_id: "T0STANDIN",
              user_id: "U0ATOLL",
              bot_id: "B0ATOLL",
            }
          : { ok: false, error: "invalid_auth" },
      );
    if (path === "/api/chat.postMessage") {
      if (!ok) return send(res, 200, { ok: false, error: "invalid_auth" });
      const msg = JSON.parse(body || "{}");
      if (!msg.channel) return send(res, 200, { ok: false, error: "channel_not_found" });
      if (!msg.text && !msg.blocks) return send(res, 200, { ok: false, error: "no_text" });
      const ts = `${Math.floor(Date.now() / 1000)}.${String(state.slack.messages.length).padStart(6, "0")}`;
      state.slack.messages.push({
        channel: msg.channel,
        text: msg.text,
        thread_ts: msg.thread_ts ?? null,
        ts,
      });
      return send(res, 200, {
        ok: true,
        channel: msg.channel,
        ts,
        message: { type: "message", text: msg.text, ts },
      });
    }
    return send(res, 404, { ok: false, error: "unknown_method" });
  }

  function crm(req, res, path, url, body) {
    const c = state.crm;
    if (path === "/oauth/token" && req.method === "POST") {
      const form = (req.headers["content-type"] ?? "").includes("json")
        ? JSON.parse(body || "{}")
        : Object.fromEntries(new URLSearchParams(body));
      if (
        form.grant_type !== "client_credentials" ||
        c.clients.get(form.client_id) !== form.client_secret
      )
        return send(res, 401, {
          error: "invalid_client",
          error_description: "unknown client or wrong secret",
        });
      const token = id("crm_", 24);
      c.tokens.set(token, Date.now() + 3600_000);
      return send(res, 200, { access_token: token, token_type: "Bearer", expires_in: 3600 });
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!auth || !(c.tokens.get(auth) > Date.now()))
      return send(res, 401, { error: "invalid_token" });
    c.requests += 1;
    if (fault("crm", res)) return;
    // Misbehaving sources (contactsPath "/endless" or "/endless-records"): a next cursor forever,
    // with no records, or with a few fresh ones on every page.
    if (path === "/endless" && req.method === "GET")
      return send(res, 200, { data: [], next_cursor: "again" });
    if (path === "/endless-records" && req.method === "GET") {
      const n = Number(url.searchParams.get("cursor") || 0);
      const data = Array.from({ length: 5 }, (_, i) => ({
        id: `e${n}-${i}`,
        email: `e${n}-${i}@example.com`,
        last_name: "Endless",
        updated_at: new Date(Date.now() - 86_400_000).toISOString(),
      }));
      return send(res, 200, { data, next_cursor: String(n + 1) });
    }
    if (path === "/contacts" && req.method === "GET") {
      const since = url.searchParams.get("updated_since") ?? "";
      const offset = Number(url.searchParams.get("cursor") ?? 0);
      const all = [...c.contacts.values()]
        .filter((x) => x.updated_at > since)
        .sort((a, b) => a.updated_at.localeCompare(b.updated_at) || a.id.localeCompare(b.id));
      const page = all.slice(offset, offset + 50);
      return send(res, 200, {
        data: page,
        next_cursor: offset + 50 < all.length ? String(offset + 50) : null,
      });
    }
    const m = /^\/contacts\/(.+)$/.exec(path);
    if (m && req.method === "PUT") {
      const key = decodeURIComponent(m[1]);
      const existing = c.contacts.get(key);
      const record = {
        ...(existing ?? {}),
        ...JSON.parse(body || "{}"),
        id: key,
        updated_at: nextModstamp(),
      };
      c.contacts.set(key, record);
      return send(res, existing ? 200 : 201, record);
    }
    return send(res, 404, { error: "not_found" });
  }

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const url = new URL(req.url, "http://stand-in");
      const [, provider, ...rest] = url.pathname.split("/");
      const path = `/${rest.join("/")}`;
      if (provider === "__standin") {
        if (path === "/faults" && req.method === "POST") {
          state.faults.push({ count: 1, ...JSON.parse(body || "{}") });
          return send(res, 200, { ok: true });
        }
        if (path === "/state")
          return send(res, 200, {
            salesforce: {
              contacts: [...state.salesforce.contacts.values()],
              requests: state.salesforce.requests,
            },
            hubspot: {
              contacts: [...state.hubspot.contacts.values()],
              requests: state.hubspot.requests,
            },
            slack: { messages: state.slack.messages },
            zapier: { hooks: state.zapier.hooks },
            crm: { contacts: [...state.crm.contacts.values()] },
          });
        if (path === "/receiver/secrets" && req.method === "POST") {
          const { name, secret } = JSON.parse(body || "{}");
          state.receiver.secrets.set(name, secret);
          return send(res, 200, { ok: true });
        }
        if (path.startsWith("/receiver/") && req.method === "GET")
          return send(res, 200, {
            deliveries: state.receiver.deliveries.get(path.slice("/receiver/".length)) ?? [],
          });
        if (path === "/salesforce/clients" && req.method === "POST") {
          const { clientId, clientSecret, instanceUrl, tokenDelayMs, isolated } = JSON.parse(
            body || "{}",
          );
          state.salesforce.clients.set(clientId, clientSecret);
          if (isolated && !state.salesforce.orgs.has(clientId))
            state.salesforce.orgs.set(clientId, { contacts: new Map(), queries: [], writes: [] });
          state.salesforce.tokenDelays.set(clientId, Number(tokenDelayMs ?? 0));
          if (instanceUrl) state.salesforce.instanceUrls.set(clientId, instanceUrl);
          else state.salesforce.instanceUrls.delete(clientId);
          return send(res, 200, { ok: true });
        }
        if (path === "/redirect") {
          res.writeHead(Number(url.searchParams.get("status") ?? 307), {
            location: url.searchParams.get("to") ?? "/",
          });
          return res.end();
        }
        if (path === "/hubspot/contacts" && req.method === "POST") {
          const { id: cid, properties, token, lastmodifieddate, batch } = JSON.parse(body || "{}");
          const portal = (token && state.hubspot.portals.get(token)) || state.hubspot.shared;
          const at = lastmodifieddate ? new Date(lastmodifieddate).toISOString() : undefined;
          if (Array.isArray(batch))
            return send(res, 200, {
              results: batch.map((b) => hubspotContact(b.properties ?? {}, undefined, portal, at)),
            });
          return send(
            res,
            200,
            hubspotContact(
              properties ?? {},
              cid ? portal.contacts.get(cid) : undefined,
              portal,
              at,
            ),
          );
        }
        if (path === "/hubspot/portals" && req.method === "POST") {
          const { token } = JSON.parse(body || "{}");
          if (!state.hubspot.portals.has(token))
            // Ids start below 1000 so that they cross a digit boundary (numbers, not strings).
            state.hubspot.portals.set(token, { contacts: new Map(), searches: [], nextId: 990 });
          return send(res, 200, { ok: true });
        }
        const portalPath = /^\/hubspot\/portals\/(.+)$/.exec(path);
        if (portalPath && req.method === "GET") {
          const portal = state.hubspot.portals.get(decodeURIComponent(portalPath[1]));
          if (!portal) return send(res, 404, {});
          return send(res, 200, {
            contacts: [...portal.contacts.values()],
            searches: portal.searches,
          });
        }
        if (path === "/salesforce/contacts" && req.method === "POST") {
          const { clientId, modstamp, contacts } = JSON.parse(body || "{}");
          const org = state.salesforce.orgs.get(clientId) ?? state.salesforce.shared;
          const at = modstamp ? new Date(modstamp).toISOString() : undefined;
          const made = (contacts ?? []).map((fields) => {
            const existing = fields.Id ? org.contacts.get(fields.Id) : undefined;
            const c = {
              ...(existing ?? {}),
              ...fields,
              // A new record may name its Id (a hostile "Salesforce" answering ids of its choosing).
              Id: existing?.Id ?? fields.Id ?? id("003", 15),
              SystemModstamp: at ?? nextModstamp(),
            };
            org.contacts.set(c.Id, c);
            return c;
          });
          return send(res, 200, { records: made });
        }
        const orgPath = /^\/salesforce\/orgs\/(.+)$/.exec(path);
        if (orgPath && req.method === "GET") {
          const org = state.salesforce.orgs.get(decodeURIComponent(orgPath[1]));
          if (!org) return send(res, 404, {});
          return send(res, 200, {
            contacts: [...org.contacts.values()],
            queries: org.queries,
            writes: org.writes,
          });
        }
        if (path === "/crm/contacts" && req.method === "POST") {
          const r = { ...JSON.parse(body || "{}"), updated_at: nextModstamp() };
          state.crm.contacts.set(r.id, r);
          return send(res, 200, r);
        }
        return send(res, 404, {});
      }
      if (provider === "salesforce") return salesforce(req, res, path, url, body);
      if (provider === "hubspot") return hubspot(req, res, path, url, body);
      if (provider === "slack") return slack(req, res, path, body);
      if (provider === "crm") return crm(req, res, path, url, body);
      if (provider === "receiver" && req.method === "POST") {
        const name = path.slice(1);
        if (fault("receiver", res, name)) return;
        const secret = state.receiver.secrets.get(name);
        const list = state.receiver.deliveries.get(name) ?? [];
        list.push({
          raw: body,
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(
              ([k]) => k.startsWith("atoll-") || k === "user-agent",
            ),
          ),
          verified: secret
            ? verifyAtollSignature(secret, req.headers["atoll-signature"], body)
            : null,
          at: Date.now(),
        });
        state.receiver.deliveries.set(name, list);
        return send(res, 200, { received: true });
      }
      if (provider === "zapier" && req.method === "POST" && path.startsWith("/hooks/catch/")) {
        if (fault("zapier", res)) return;
        state.zapier.hooks.push({
          path,
          body: JSON.parse(body || "null"),
          raw: body,
          signature: req.headers["atoll-signature"] ?? null,
          at: Date.now(),
        });
        return send(res, 200, {
          status: "success",
          attempt: id("", 8),
          id: id("", 8),
          request_id: id("", 8),
        });
      }
      return send(res, 404, { error: "no such stand-in" });
    });
  });
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({
        url: `http://${host}:${actual}`,
        port: actual,
        state,
        close: () => new Promise((r) => server.close(r)),
      });
    });
  });
}

// ---- A SOQL subset, parsed as Salesforce does (anything outside it is MALFORMED_QUERY) ----------
const SOQL_TOKEN =
  /\s*(?:(\(|\)|,)|'((?:[^'\\]|\\.)*)'|(!=|<=|>=|=|<|>)|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?(?:Z|[+-]\d\d:?\d\d))|([A-Za-z_][A-Za-z0-9_]*)|(\d+))/y;
const SOQL_ESCAPES = {
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  '"': '"',
  "'": "'",
  "\\": "\\",
};

function soqlTokens(q) {
  const out = [];
  SOQL_TOKEN.lastIndex = 0;
  let at = 0;
  while (at < q.length) {
    if (/^\s*$/.test(q.slice(at))) break;
    SOQL_TOKEN.lastIndex = at;
    const m = SOQL_TOKEN.exec(q);
    if (!m) throw new Error(`unexpected token at ${at}: ${q.slice(at, at + 20)}`);
    at = SOQL_TOKEN.lastIndex;
    if (m[1]) out.push({ t: m[1] });
    else if (m[2] !== undefined)
      out.push({
        t: "str",
        v: m[2].replace(/\\(.)/g, (_, c) => {
          if (!(c in SOQL_ESCAPES)) throw new Error(`invalid escape sequence \\${c}`);
          return SOQL_ESCAPES[c];
        }),
      });
    else if (m[3]) out.push({ t: "op", v: m[3] });
    else if (m[4]) out.push({ t: "dt", v: Date.parse(m[4].replace(/([+-]\d\d)(\d\d)$/, "$1:$2")) });
    else if (m[5]) out.push({ t: "id", v: m[5] });
    else out.push({ t: "num", v: Number(m[6]) });
  }
  return out;
}

/** SELECT f, … FROM Contact [WHERE cond] [ORDER BY f [ASC|DESC], …] [LIMIT n] */
export function parseSoql(q) {
  const ts = soqlTokens(q);
  let i = 0;
  const peekKw = (kw) => ts[i]?.t === "id" && ts[i].v.toUpperCase() === kw;
  const kw = (k) => {
    if (!peekKw(k)) throw new Error(`expected ${k}`);
    i++;
  };
  const ident = () => {
    if (ts[i]?.t !== "id") throw new Error("expected a field name");
    return ts[i++].v;
  };
  kw("SELECT");
  const fields = [ident()];
  while (ts[i]?.t === ",") (i++, fields.push(ident()));
  kw("FROM");
  if (ident() !== "Contact") throw new Error("only Contact is queryable here");
  const cond = () => {
    const items = [conj()];
    while (peekKw("OR")) (i++, items.push(conj()));
    return items.length === 1 ? items[0] : { or: items };
  };
  const conj = () => {
    const items = [factor()];
    while (peekKw("AND")) (i++, items.push(factor()));
    return items.length === 1 ? items[0] : { and: items };
  };
  const factor = () => {
    if (ts[i]?.t === "(") {
      i++;
      const c = cond();
      if (ts[i]?.t !== ")") throw new Error("expected )");
      i++;
      return c;
    }
    const field = ident();
    if (ts[i]?.t !== "op") throw new Error(`expected an operator after ${field}`);
    const op = ts[i++].v;
    const value = ts[i++];
    if (!value) throw new Error("expected a value");
    if (field === "SystemModstamp" && value.t !== "dt")
      throw new Error(
        "value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes",
      );
    if (field !== "SystemModstamp" && value.t !== "str")
      throw new Error(`value of filter criterion for field '${field}' must be a quoted string`);
    return { field, op, value: value.v };
  };
  let where = null;
  if (peekKw("WHERE")) (i++, (where = cond()));
  const orderBy = [];
  if (peekKw("ORDER")) {
    i++;
    kw("BY");
    do {
      if (orderBy.length) i++;
      const field = ident();
      let desc = false;
      if (peekKw("ASC")) i++;
      else if (peekKw("DESC")) (i++, (desc = true));
      orderBy.push({ field, desc });
    } while (ts[i]?.t === ",");
  }
  let limit = null;
  if (peekKw("LIMIT")) {
    i++;
    if (ts[i]?.t !== "num") throw new Error("expected a number after LIMIT");
    limit = ts[i++].v;
  }
  if (i !== ts.length) throw new Error(`unexpected ${JSON.stringify(ts[i].v ?? ts[i].t)}`);
  return { fields, where, orderBy, limit };
}

/** Salesforce compares Ids exactly (as ORDER BY Id orders them) and other text case-insensitively. */
function soqlCompare(field, a, b) {
  if (field === "SystemModstamp") return Date.parse(a) - Date.parse(b);
  const [x, y] =
    field === "Id" ? [a ?? "", b ?? ""] : [(a ?? "").toLowerCase(), (b ?? "").toLowerCase()];
  return x < y ? -1 : x > y ? 1 : 0;
}

function soqlTrue(c, rec) {
  if (c.or) return c.or.some((x) => soqlTrue(x, rec));
  if (c.and) return c.and.every((x) => soqlTrue(x, rec));
  const d =
    c.field === "SystemModstamp"
      ? Date.parse(rec.SystemModstamp) - c.value
      : soqlCompare(c.field, rec[c.field], c.value);
  return { "=": d === 0, "!=": d !== 0, "<": d < 0, "<=": d <= 0, ">": d > 0, ">=": d >= 0 }[c.op];
}

// ---- HubSpot CRM search semantics ---------------------------------------------------------------
const HS_NUMERIC = new Set(["hs_object_id"]);
const HS_DATETIME = new Set(["lastmodifieddate", "createdate"]);

function hsValue(prop, raw) {
  if (raw === undefined || raw === null || raw === "") return null;
  if (HS_NUMERIC.has(prop)) return Number(raw);
  if (HS_DATETIME.has(prop)) return /^\d+$/.test(String(raw)) ? Number(raw) : Date.parse(raw);
  return String(raw).toLowerCase();
}

function hsMatch(f, c) {
  const v = hsValue(
    f.propertyName,
    f.propertyName === "hs_object_id" ? c.id : c.properties[f.propertyName],
  );
  const x = hsValue(f.propertyName, f.value);
  switch (f.operator) {
    case "HAS_PROPERTY":
      return v !== null;
    case "NOT_HAS_PROPERTY":
      return v === null;
    case "EQ":
      return v !== null && v === x;
    case "NEQ":
      return v !== x;
    case "GT":
      return v !== null && v > x;
    case "GTE":
      return v !== null && v >= x;
    case "LT":
      return v !== null && v < x;
    case "LTE":
      return v !== null && v <= x;
    case "BETWEEN":
      return v !== null && v >= x && v <= hsValue(f.propertyName, f.highValue);
    case "IN":
      return (f.values ?? []).some((y) => hsValue(f.propertyName, y) === v);
    case "NOT_IN":
      return !(f.values ?? []).some((y) => hsValue(f.propertyName, y) === v);
    default:
      throw new Error(`unsupported operator ${f.operator}`);
  }
}

/** Ties of the sort come in no particular order (HubSpot promises none): here a scrambled one. */
const scramble = (id) => (Number(id) * 2654435761) % 4294967296;

export function hubspotSearch(all, q) {
  const groups = q.filterGroups ?? [];
  if (groups.length > 5) throw new Error("at most 5 filterGroups");
  if (groups.reduce((n, g) => n + (g.filters ?? []).length, 0) > 25)
    throw new Error("at most 25 filters");
  if (groups.some((g) => (g.filters ?? []).length > 10))
    throw new Error("at most 10 filters a group");
  const sorts = q.sorts ?? [];
  if (sorts.length > 1) throw new Error("only one sort is supported");
  const sort = sorts[0]
    ? typeof sorts[0] === "string"
      ? {
          propertyName: sorts[0].replace(/^-/, ""),
          direction: sorts[0].startsWith("-") ? "DESCENDING" : "ASCENDING",
        }
      : sorts[0]
    : null;
  const key = (c) =>
    sort
      ? hsValue(
          sort.propertyName,
          sort.propertyName === "hs_object_id" ? c.id : c.properties[sort.propertyName],
        )
      : 0;
  return [...all]
    .filter(
      (c) =>
        groups.length === 0 || groups.some((g) => (g.filters ?? []).every((f) => hsMatch(f, c))),
    )
    .sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      const d = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      return (sort?.direction === "DESCENDING" ? -d : d) || scramble(a.id) - scramble(b.id);
    });
}
