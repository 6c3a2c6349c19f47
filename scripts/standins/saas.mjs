// Local stand-ins for the SaaS providers Atoll's connectors talk to, each speaking the provider's
// documented wire format under its own path prefix (a connection's baseUrl points at it):
//   /salesforce  OAuth 2.0 client credentials (/services/oauth2/token), sObjects REST, SOQL query
//                with `SystemModstamp > <datetime>`, upsert by external id, INVALID_SESSION_ID on
//                expired tokens (tokens live `salesforceTokenTtlMs`).
//   /hubspot     private-app bearer tokens, CRM v3 contacts (create, update, search on
//                lastmodifieddate with `after` paging), account-info for the credential check.
//   /slack       auth.test and chat.postMessage with a bot token (Slack answers HTTP 200 with
//                {"ok":false,"error":…} for bad tokens).
//   /zapier      a REST-hook catcher: what Atoll delivers to a subscribed hook URL is recorded.
//   /crm         a generic CRM: client-credentials token (expires_in), contacts with
//                `updated_since` + cursor, PUT upsert by external id.
// Test control (not part of any provider): POST /__standin/faults {"provider","status","count",
// "retryAfter","malformed","delayMs","match"} makes the next `count` API calls of that provider
// (whose path contains `match`, if given) fail that way; POST /__standin/<provider>/contacts creates or edits a record as if a user did it in the
// provider's UI; GET /__standin/state returns everything; POST /__standin/salesforce/clients
// {"clientId","clientSecret","instanceUrl","tokenDelayMs"} registers a Salesforce client whose token
// answer names that instance_url (a hostile "Salesforce") and comes after that delay; ANY /__standin/redirect?to=<url>&status=<3xx> answers
// a redirect there.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";

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
      requests: 0,
    },
    hubspot: { tokens: new Set(["pat-na1-standin-token"]), contacts: new Map(), requests: 0 },
    slack: { tokens: new Set(["xoxb-standin-bot-token"]), messages: [] },
    zapier: { hooks: [] },
    crm: {
      clients: new Map([["crm-client", "crm-secret"]]),
      tokens: new Map(),
      contacts: new Map(),
      requests: 0,
    },
    faults: [],
  };
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
      sf.tokens.set(token, Date.now() + salesforceTokenTtlMs);
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
    const exp = auth ? sf.tokens.get(auth) : undefined;
    if (!exp || exp < Date.now())
      return send(res, 401, [
        { message: "Session expired or invalid", errorCode: "INVALID_SESSION_ID" },
      ]);
    sf.requests += 1;
    if (fault("salesforce", res, url.pathname + url.search)) return;
    const base = "/services/data/v59.0";
    if (path === `${base}/query` && req.method === "GET") {
      const q = url.searchParams.get("q") ?? "";
      if (!/^SELECT .+ FROM Contact/i.test(q))
        return send(res, 400, [{ message: "unexpected SOQL", errorCode: "MALFORMED_QUERY" }]);
      const since = /SystemModstamp > (\S+)/i.exec(q)?.[1];
      const limit = Number(/LIMIT (\d+)/i.exec(q)?.[1] ?? 2000);
      const records = [...sf.contacts.values()]
        .filter((c) => !since || c.SystemModstamp > since)
        .sort(
          (a, b) => a.SystemModstamp.localeCompare(b.SystemModstamp) || a.Id.localeCompare(b.Id),
        )
        .slice(0, limit);
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
      const existing = [...sf.contacts.values()].find(
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
      sf.contacts.set(c.Id, c);
      return send(res, 201, { id: c.Id, success: true, errors: [], created: true });
    }
    return send(res, 404, [
      { message: "The requested resource does not exist", errorCode: "NOT_FOUND" },
    ]);
  }

  function hubspot(req, res, path, url, body) {
    const hs = state.hubspot;
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!auth || !hs.tokens.has(auth))
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
    if (path === "/crm/v3/objects/contacts/search" && req.method === "POST") {
      const q = JSON.parse(body || "{}");
      const filter = q.filterGroups?.[0]?.filters?.find(
        (f) => f.propertyName === "lastmodifieddate" && f.operator === "GT",
      );
      const after = Number(q.after ?? 0);
      const limit = Math.min(Number(q.limit ?? 10), 100);
      const all = [...hs.contacts.values()]
        .filter((c) => !filter || Date.parse(c.properties.lastmodifieddate) > Number(filter.value))
        .sort(
          (a, b) =>
            a.properties.lastmodifieddate.localeCompare(b.properties.lastmodifieddate) ||
            a.id.localeCompare(b.id),
        );
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
      const c = hubspotContact(properties ?? {});
      return send(res, 201, c);
    }
    return send(res, 404, { status: "error", message: "Not found", category: "OBJECT_NOT_FOUND" });
  }

  function hubspotContact(properties, existing) {
    const hs = state.hubspot;
    const now = nextModstamp();
    const c = existing ?? {
      id: String(100 + hs.contacts.size),
      properties: {},
      createdAt: now,
      archived: false,
    };
    Object.assign(c.properties, properties, { lastmodifieddate: now, hs_object_id: c.id });
    c.updatedAt = now;
    hs.contacts.set(c.id, c);
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
        if (path === "/salesforce/clients" && req.method === "POST") {
          const { clientId, clientSecret, instanceUrl, tokenDelayMs } = JSON.parse(body || "{}");
          state.salesforce.clients.set(clientId, clientSecret);
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
          const { id: cid, properties } = JSON.parse(body || "{}");
          return send(
            res,
            200,
            hubspotContact(properties ?? {}, cid ? state.hubspot.contacts.get(cid) : undefined),
          );
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
