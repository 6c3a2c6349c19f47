// A local stand-in for Stripe's Charges API (https://docs.stripe.com/api/charges), speaking its
// wire format: form-encoded POST /v1/charges with `Authorization: Bearer sk_…` and an optional
// `Idempotency-Key` (a repeated key returns the original charge, a key reused with other
// parameters is a 400), GET /v1/charges/:id, and Stripe's error envelope. Used by npm start and
// the tests instead of the internet.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";

export function startStripeStandIn({ port = 0, host = "127.0.0.1" } = {}) {
  const charges = new Map();
  const idempotency = new Map();
  const requests = [];
  const error = (res, status, type, message, param) => {
    res.writeHead(status, { "content-type": "application/json", "request-id": `req_${randomBytes(6).toString("hex")}` });
    res.end(JSON.stringify({ error: { type, message, ...(param ? { param } : {}) } }));
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const auth = req.headers.authorization ?? "";
      requests.push({ method: req.method, url: req.url, authorization: auth, idempotencyKey: req.headers["idempotency-key"] ?? null, body });
      if (!/^Bearer sk_(test|live)_\w+$/.test(auth)) return error(res, 401, "invalid_request_error", "Invalid API Key provided.");
      const url = new URL(req.url, "http://stand-in");
      if (req.method === "POST" && url.pathname === "/v1/charges") {
        const form = new URLSearchParams(body);
        const key = req.headers["idempotency-key"];
        if (key && idempotency.has(key)) {
          const prior = idempotency.get(key);
          if (prior.body !== body) return error(res, 400, "idempotency_error", "Keys for idempotent requests can only be used with the same parameters they were first used with.");
          res.writeHead(200, { "content-type": "application/json", "idempotent-replayed": "true" });
          return res.end(JSON.stringify(prior.charge));
        }
        const amount = Number(form.get("amount"));
        if (!Number.isInteger(amount) || amount < 50) return error(res, 400, "invalid_request_error", "Amount must be at least 50 cents.", "amount");
        const currency = form.get("currency");
        if (!currency || !/^[a-z]{3}$/.test(currency)) return error(res, 400, "invalid_request_error", "Invalid currency.", "currency");
        const source = form.get("source");
        if (!source) return error(res, 400, "invalid_request_error", "Must provide source or customer.", "source");
        const declined = source === "tok_chargeDeclined";
        if (declined) return error(res, 402, "card_error", "Your card was declined.");
        const charge = { id: `ch_${randomBytes(12).toString("hex")}`, object: "charge", amount, amount_captured: amount, currency, description: form.get("description"), paid: true, captured: true, status: "succeeded", created: Math.floor(Date.now() / 1000), livemode: auth.includes("sk_live_") };
        charges.set(charge.id, charge);
        if (key) idempotency.set(key, { body, charge });
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(charge));
      }
      const m = /^\/v1\/charges\/(ch_\w+)$/.exec(url.pathname);
      if (req.method === "GET" && m) {
        const charge = charges.get(m[1]);
        if (!charge) return error(res, 404, "invalid_request_error", `No such charge: '${m[1]}'`, "id");
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(charge));
      }
      return error(res, 404, "invalid_request_error", `Unrecognized request URL (${req.method}: ${url.pathname}).`);
    });
  });
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({ url: `http://${host}:${actual}`, port: actual, requests, charges, close: () => new Promise((r) => server.close(r)) });
    });
  });
}
