// A local stand-in for the slice of Cloudflare's API that Atoll's dispatch backend uses: the
// Workers for Platforms script upload, delete and bindings read, with Cloudflare's multipart
// format and JSON envelope ({ success, errors, messages, result }), as strict as Cloudflare on
// what an upload may hold (./cloudflare-upload-rules.mjs). Stores what it is given so that a
// stand-in dispatch namespace can run it, and exposes /__standin/* for tests:
//   GET  /__standin/scripts/:account/:namespace/:name   what was uploaded (secrets included)
//   GET  /__standin/log                                 every API request (method, path, account)
//   POST /__standin/accounts  { account, namespaces }   another account with its namespaces
//   POST /__standin/faults    { account, faults: [{ method?, status, retryAfter?, store? }] }
//        the account's next matching requests answer `status` (with Retry-After when given);
//        `store: true` carries the request out first (an answer lost after the work was done).
import { createServer } from "node:http";
import { checkUpload, readableBindings } from "./cloudflare-upload-rules.mjs";

const SCRIPT_PATH =
  /^\/accounts\/([^/]+)\/workers\/dispatch\/namespaces\/([^/]+)\/scripts\/([^/]+)(\/bindings)?$/;

export function startCloudflareApiStandIn({
  port = 0,
  host = "127.0.0.1",
  token = "test-cf-token",
  accounts = { acc_test: ["atoll-plugins"] },
  // The account's own Workers and their named entrypoints: what service bindings and tail
  // consumers may name (the platform Worker, "atoll", and its WorkerEntrypoint classes).
  services = { atoll: ["PluginStorage", "IntegrationGate", "LogTail", "Egress"] },
} = {}) {
  const namespaces = new Map(Object.entries(accounts).map(([a, ns]) => [a, new Set(ns)]));
  const scripts = new Map();
  const faults = new Map();
  const log = [];
  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const ok = (res, result) => send(res, 200, { success: true, errors: [], messages: [], result });
  const fail = (res, status, code, message, headers) =>
    send(
      res,
      status,
      { success: false, errors: [{ code, message }], messages: [], result: null },
      headers,
    );

  async function control(req, res, url, body) {
    const m = /^\/__standin\/scripts\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const s = scripts.get(`${m[1]}/${m[2]}/${m[3]}`);
      return s ? send(res, 200, s) : fail(res, 404, 10007, "not found");
    }
    if (url.pathname === "/__standin/log") return send(res, 200, log);
    if (req.method === "POST" && url.pathname === "/__standin/accounts") {
      const { account, namespaces: ns } = JSON.parse(body.toString() || "{}");
      namespaces.set(String(account), new Set((ns ?? []).map(String)));
      return ok(res, null);
    }
    if (req.method === "POST" && url.pathname === "/__standin/faults") {
      const { account, faults: list } = JSON.parse(body.toString() || "{}");
      faults.set(String(account), [...(faults.get(String(account)) ?? []), ...(list ?? [])]);
      return ok(res, null);
    }
    return fail(res, 404, 7003, "No route for that URI");
  }

  /** The account's next fault for this method, taken off its queue. */
  function nextFault(account, method) {
    const list = faults.get(account) ?? [];
    const i = list.findIndex((f) => !f.method || f.method === method);
    return i === -1 ? null : list.splice(i, 1)[0];
  }

  async function upload(req, res, key, body) {
    let form;
    try {
      form = await new Request("http://standin/", {
        method: "PUT",
        headers: { "content-type": req.headers["content-type"] ?? "" },
        body,
      }).formData();
    } catch {
      return { status: 400, code: 10021, message: "Expected multipart/form-data" };
    }
    const metaPart = form.get("metadata");
    if (!metaPart) return { status: 400, code: 10021, message: "Missing metadata part" };
    let metadata;
    try {
      metadata = JSON.parse(typeof metaPart === "string" ? metaPart : await metaPart.text());
    } catch {
      return { status: 400, code: 10021, message: "metadata is not JSON" };
    }
    const parts = [];
    for (const [name, value] of form.entries()) {
      if (name === "metadata") continue;
      if (typeof value === "string")
        return {
          status: 400,
          code: 10021,
          message: `part ${name} must be a file with a content type`,
        };
      const content = Buffer.from(await value.arrayBuffer());
      parts.push({ name, type: value.type, size: content.byteLength, content });
    }
    const refusal = checkUpload(metadata, parts, {
      services,
      today: new Date().toISOString().slice(0, 10),
    });
    if (refusal) return refusal;
    const [account, namespace, name] = key.split("/");
    scripts.set(key, {
      account,
      namespace,
      name,
      metadata,
      modules: Object.fromEntries(parts.map((p) => [p.name, p.content.toString("utf8")])),
      moduleTypes: Object.fromEntries(parts.map((p) => [p.name, p.type])),
    });
    return null;
  }

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, `http://${host}`);
    if (url.pathname.startsWith("/__standin/")) return control(req, res, url, body);
    const m = SCRIPT_PATH.exec(url.pathname);
    log.push({
      method: req.method,
      path: url.pathname,
      account: m?.[1] ?? null,
      authorization: req.headers.authorization ?? null,
      contentType: req.headers["content-type"] ?? null,
    });
    if (!m) return fail(res, 404, 7003, "No route for that URI");
    if (req.headers.authorization !== `Bearer ${token}`)
      return fail(res, 403, 10000, "Authentication error");
    const [, account, namespace, name, bindingsPath] = m;
    if (!namespaces.has(account))
      return fail(res, 404, 7003, `Could not route to account ${account}: it does not exist`);
    if (!namespaces.get(account).has(namespace))
      return fail(res, 404, 100119, `The dispatch namespace ${namespace} does not exist`);
    if (!/^[a-z0-9-]{1,63}$/.test(name)) return fail(res, 400, 10021, "Script name is invalid");
    const key = `${account}/${namespace}/${name}`;

    const fault = nextFault(account, req.method);
    const faulty = (work) => {
      if (!fault) return false;
      if (fault.store) work();
      fail(
        res,
        fault.status,
        fault.status === 429 ? 971 : 10013,
        `stand-in fault ${fault.status}`,
        fault.retryAfter !== undefined ? { "retry-after": String(fault.retryAfter) } : {},
      );
      return true;
    };

    if (bindingsPath) {
      if (req.method !== "GET") return fail(res, 405, 10000, "Method not allowed");
      const s = scripts.get(key);
      if (!s) return fail(res, 404, 10007, "This Worker does not exist on your account.");
      return ok(res, readableBindings(s.metadata.bindings ?? []));
    }
    if (req.method === "DELETE") {
      let existed = false;
      if (faulty(() => scripts.delete(key))) return;
      existed = scripts.delete(key);
      if (!existed) return fail(res, 404, 10007, "This Worker does not exist on your account.");
      // Cloudflare answers a delete with 200 and an empty body.
      res.writeHead(200);
      return res.end();
    }
    if (req.method !== "PUT") return fail(res, 405, 10000, "Method not allowed");
    if (fault) {
      if (fault.store) await upload(req, res, key, body);
      return faulty(() => undefined);
    }
    const refusal = await upload(req, res, key, body);
    if (refusal) return fail(res, refusal.status, refusal.code, refusal.message);
    const stored = scripts.get(key);
    return ok(res, {
      id: name,
      tags: stored.metadata.tags ?? [],
      created_on: new Date().toISOString(),
    });
  });
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({
        url: `http://${host}:${actual}`,
        port: actual,
        token,
        scripts,
        log,
        close: () => new Promise((r) => server.close(r)),
      });
    });
  });
}
