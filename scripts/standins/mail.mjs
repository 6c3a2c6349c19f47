// A local mail stand-in in the manner of Mailpit: the platform sends mail to it instead of a real
// mail service, and a developer reads it in a browser. It speaks a subset of Mailpit's HTTP API
// (https://mailpit.axllent.org/docs/api-v1/):
//   POST   /api/v1/send          {"From":{"Email","Name"},"To":[{"Email","Name"}],"Subject","Text"} → {"ID"}
//   GET    /api/v1/messages      {"total","messages":[{"ID","From","To","Subject","Created","Snippet"}]}, newest first
//   GET    /api/v1/message/:id   the message with its "Text"
//   DELETE /api/v1/messages      deletes every message
//   GET    /                     an HTML page listing the messages, each with its text
// Messages live in memory only; the server listens on loopback.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";

const escapeHtml = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch],
  );
const address = (v) =>
  v && typeof v === "object" && typeof v.Email === "string"
    ? { Name: typeof v.Name === "string" ? v.Name : "", Address: v.Email }
    : null;

export function startMailStandIn({ port = 0, host = "127.0.0.1", maxMessages = 1000 } = {}) {
  const messages = [];
  const send = (res, status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const summary = (m) => ({
    ID: m.ID,
    From: m.From,
    To: m.To,
    Subject: m.Subject,
    Created: m.Created,
    Snippet: m.Text.slice(0, 250),
  });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://mail.local");
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size <= 1_000_000) chunks.push(c);
    });
    req.on("end", () => {
      if (req.method === "POST" && url.pathname === "/api/v1/send") {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          return send(res, 400, { Error: "the body is not JSON" });
        }
        const from = address(body?.From);
        const to = Array.isArray(body?.To) ? body.To.map(address).filter(Boolean) : [];
        if (!from || to.length === 0 || typeof body.Subject !== "string")
          return send(res, 400, { Error: "From, To and Subject are required" });
        const message = {
          ID: randomBytes(10).toString("hex"),
          From: from,
          To: to,
          Subject: body.Subject,
          Text: typeof body.Text === "string" ? body.Text : "",
          Created: new Date().toISOString(),
        };
        messages.unshift(message);
        messages.length = Math.min(messages.length, maxMessages);
        return send(res, 200, { ID: message.ID });
      }
      if (req.method === "GET" && url.pathname === "/api/v1/messages")
        return send(res, 200, { total: messages.length, messages: messages.map(summary) });
      if (req.method === "DELETE" && url.pathname === "/api/v1/messages") {
        messages.length = 0;
        return send(res, 200, {});
      }
      const one = /^\/api\/v1\/message\/([0-9a-f]{20})$/.exec(url.pathname);
      if (req.method === "GET" && one) {
        const m = messages.find((x) => x.ID === one[1]);
        return m ? send(res, 200, m) : send(res, 404, { Error: "no such message" });
      }
      if (req.method === "GET" && url.pathname === "/") {
        const items = messages
          .map(
            (m) =>
              `<article><h2>${escapeHtml(m.Subject)}</h2><p>To ${m.To.map((t) => escapeHtml(t.Address)).join(", ")} · from ${escapeHtml(m.From.Address)} · ${escapeHtml(m.Created)}</p><pre>${escapeHtml(m.Text)}</pre></article>`,
          )
          .join("\n");
        res.writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": "default-src 'none'",
        });
        return res.end(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Atoll mail (local)</title></head><body><h1>Mail sent by the local platform</h1><p>${messages.length} message(s), newest first. JSON: <code>/api/v1/messages</code></p>${items || "<p>No mail yet.</p>"}</body></html>`,
        );
      }
      send(res, 404, { Error: "not found" });
    });
  });
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const url = `http://${host}:${server.address().port}`;
      resolve({ url, messages, close: () => new Promise((r) => server.close(r)) });
    });
  });
}
