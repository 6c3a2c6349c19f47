// A local stand-in for the parts of Stripe's API that Atoll uses, speaking its wire format
// (https://docs.stripe.com/api): form-encoded POSTs with `Authorization: Bearer sk_…`, Stripe's
// error envelope, and `Idempotency-Key` semantics (a repeated key replays the original response
// with `Idempotent-Replayed: true`; a key reused with other parameters is a 400
// idempotency_error).
//   POST /v1/charges      amount, currency, source, description?, metadata[k]   (tok_chargeDeclined → 402)
//   GET  /v1/charges/:id
//   POST /v1/refunds      charge, amount?   (refunds above what is left → 400)
//   POST /v1/transfers    amount, currency, destination, description?   (Connect; unknown acct_ → 400)
// Test control (not Stripe's): POST /__standin/faults {"lose": n} makes the next n POSTs happen
// but drops the connection before answering (a response lost on the way back);
// {"fail": n} answers the next n POSTs with a 500 api_error without doing anything.
// GET /__standin/state returns the charges, refunds and transfers.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";

const ZERO_DECIMAL = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "isk",
  "jpy",
  "kmf",
  "krw",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
]);
const THREE_DECIMAL = new Set(["bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd"]);
const minimum = (currency) => (THREE_DECIMAL.has(currency) ? 500 : 50);

export function startStripeStandIn({ port = 0, host = "127.0.0.1" } = {}) {
  const charges = new Map();
  const refunds = new Map();
  const transfers = new Map();
  const idempotency = new Map();
  const requests = [];
  const faults = { lose: 0, fail: 0 };
  const id = (prefix) => `${prefix}_${randomBytes(12).toString("hex")}`;
  const send = (res, status, body, extra = {}) => {
    res.writeHead(status, {
      "content-type": "application/json",
      "request-id": `req_${randomBytes(6).toString("hex")}`,
      ...extra,
    });
    res.end(JSON.stringify(body));
  };
  const error = (type, message, param, code) => ({
    error: { type, message, ...(param ? { param } : {}), ...(code ? { code } : {}) },
  });
  const metadataOf = (form) => {
    const m = {};
    for (const [k, v] of form) {
      const match = /^metadata\[(.+)\]$/.exec(k);
      if (match) m[match[1]] = v;
    }
    return m;
  };

  /** Runs one mutating call; returns [status, body]. */
  function post(path, form, live) {
    if (path === "/v1/charges") {
      const amount = Number(form.get("amount"));
      const currency = form.get("currency");
      if (!currency || !/^[a-z]{3}$/.test(currency))
        return [400, error("invalid_request_error", "Invalid currency.", "currency")];
      if (!Number.isInteger(amount) || amount < minimum(currency))
        return [
          400,
          error(
            "invalid_request_error",
            `Amount must be at least ${minimum(currency)} ${ZERO_DECIMAL.has(currency) ? currency : "minor units"}.`,
            "amount",
            "amount_too_small",
          ),
        ];
      const source = form.get("source");
      if (!source)
        return [400, error("invalid_request_error", "Must provide source or customer.", "source")];
      if (source === "tok_chargeDeclined")
        return [402, error("card_error", "Your card was declined.", undefined, "card_declined")];
      const charge = {
        id: id("ch"),
        object: "charge",
        amount,
        amount_captured: amount,
        amount_refunded: 0,
        refunded: false,
        currency,
        description: form.get("description"),
        metadata: metadataOf(form),
        paid: true,
        captured: true,
        status: "succeeded",
        created: Math.floor(Date.now() / 1000),
        livemode: live,
      };
      charges.set(charge.id, charge);
      return [200, charge];
    }
    if (path === "/v1/refunds") {
      const charge = charges.get(form.get("charge") ?? "");
      if (!charge)
        return [
          400,
          error(
            "invalid_request_error",
            `No such charge: '${form.get("charge")}'`,
            "charge",
            "resource_missing",
          ),
        ];
      const left = charge.amount - charge.amount_refunded;
      const amount = form.has("amount") ? Number(form.get("amount")) : left;
      if (!Number.isInteger(amount) || amount <= 0)
        return [400, error("invalid_request_error", "Invalid positive integer", "amount")];
      if (amount > left)
        return [
          400,
          error(
            "invalid_request_error",
            `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
            "amount",
            "amount_too_large",
          ),
        ];
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded === charge.amount;
      const refund = {
        id: id("re"),
        object: "refund",
        amount,
        charge: charge.id,
        currency: charge.currency,
        status: "succeeded",
        created: Math.floor(Date.now() / 1000),
      };
      refunds.set(refund.id, refund);
      return [200, refund];
    }
    if (path === "/v1/transfers") {
      const amount = Number(form.get("amount"));
      const currency = form.get("currency");
      const destination = form.get("destination") ?? "";
      if (!Number.isInteger(amount) || amount <= 0)
        return [400, error("invalid_request_error", "Invalid positive integer", "amount")];
      if (!currency || !/^[a-z]{3}$/.test(currency))
        return [400, error("invalid_request_error", "Invalid currency.", "currency")];
      if (!/^acct_\w+$/.test(destination) || destination.startsWith("acct_invalid"))
        return [
          400,
          error(
            "invalid_request_error",
            `No such destination: '${destination}'`,
            "destination",
            "resource_missing",
          ),
        ];
      const transfer = {
        id: id("tr"),
        object: "transfer",
        amount,
        currency,
        destination,
        description: form.get("description"),
        metadata: metadataOf(form),
        reversed: false,
        created: Math.floor(Date.now() / 1000),
      };
      transfers.set(transfer.id, transfer);
      return [200, transfer];
    }
    return [404, error("invalid_request_error", `Unrecognized request URL (POST: ${path}).`)];
  }

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url, "http://stand-in");
      // Test control: a redirect to any URL (the hostile-plugin suite checks that redirects are
      // re-checked and rebuilt like any other hop).
      if (url.pathname === "/__standin/redirect") {
        res.writeHead(302, { location: url.searchParams.get("to") ?? "/" });
        return res.end();
      }
      if (url.pathname === "/__standin/faults" && req.method === "POST") {
        Object.assign(faults, JSON.parse(body || "{}"));
        return send(res, 200, faults);
      }
      if (url.pathname === "/__standin/state")
        return send(res, 200, {
          charges: [...charges.values()],
          refunds: [...refunds.values()],
          transfers: [...transfers.values()],
        });
      const auth = req.headers.authorization ?? "";
      requests.push({
        method: req.method,
        url: req.url,
        authorization: auth,
        idempotencyKey: req.headers["idempotency-key"] ?? null,
        body,
      });
      if (!/^Bearer sk_(test|live)_\w+$/.test(auth))
        return send(res, 401, error("invalid_request_error", "Invalid API Key provided."));
      if (req.method === "POST") {
        if (faults.fail > 0) {
          faults.fail -= 1;
          return send(res, 500, error("api_error", "An unknown error occurred."));
        }
        const key = req.headers["idempotency-key"];
        const scoped = key ? `${auth} ${key}` : null;
        let status,
          result,
          replayed = false;
        if (scoped && idempotency.has(scoped)) {
          const prior = idempotency.get(scoped);
          if (prior.path !== url.pathname || prior.body !== body)
            return send(
              res,
              400,
              error(
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
              ),
            );
          [status, result, replayed] = [prior.status, prior.result, true];
        } else {
          [status, result] = post(
            url.pathname,
            new URLSearchParams(body),
            auth.includes("sk_live_"),
          );
          // Like Stripe, results are saved once the endpoint started executing (errors too).
          if (scoped && status !== 404)
            idempotency.set(scoped, { path: url.pathname, body, status, result });
        }
        if (faults.lose > 0) {
          faults.lose -= 1;
          return res.destroy();
        }
        return send(res, status, result, replayed ? { "idempotent-replayed": "true" } : {});
      }
      const m = /^\/v1\/charges\/(ch_\w+)$/.exec(url.pathname);
      if (req.method === "GET" && m) {
        const charge = charges.get(m[1]);
        if (!charge)
          return send(
            res,
            404,
            error("invalid_request_error", `No such charge: '${m[1]}'`, "id", "resource_missing"),
          );
        return send(res, 200, charge);
      }
      return send(
        res,
        404,
        error(
          "invalid_request_error",
          `Unrecognized request URL (${req.method}: ${url.pathname}).`,
        ),
      );
    });
  });
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({
        url: `http://${host}:${actual}`,
        port: actual,
        requests,
        charges,
        refunds,
        transfers,
        faults,
        close: () => new Promise((r) => server.close(r)),
      });
    });
  });
}
