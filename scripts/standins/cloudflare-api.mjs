// A local stand-in for the slice of Cloudflare's API that Atoll's dispatch backend uses: the
// Workers for Platforms script upload and delete, with Cloudflare's multipart format and JSON
// envelope ({ success, errors, messages, result }). Stores what it is given so that a stand-in
// dispatch namespace can run it, and exposes /__standin/* for tests to inspect.
import { createServer } from "node:http";

export function startCloudflareApiStandIn({
  port = 0,
  host = "127.0.0.1",
  token = "test-cf-token",
} = {}) {
  const scripts = new Map();
  const log = [];
  const envelope = (res, status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const fail = (res, status, code, message) =>
    envelope(res, status, {
      success: false,
      errors: [{ code, message }],
      messages: [],
      result: null,
    });
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, `http://${host}`);
    if (url.pathname.startsWith("/__standin/")) {
      const m = /^\/__standin\/scripts\/([^/]+)$/.exec(url.pathname);
      if (m)
        return scripts.has(m[1])
          ? envelope(res, 200, scripts.get(m[1]))
          : fail(res, 404, 10007, "not found");
      if (url.pathname === "/__standin/log") return envelope(res, 200, log);
      return fail(res, 404, 7003, "No route for that URI");
    }
    const m =
      /^\/accounts\/([^/]+)\/workers\/dispatch\/namespaces\/([^/]+)\/scripts\/([^/]+)(\/bindings)?$/.exec(
        url.pathname,
      );
    log.push({
      method: req.method,
      path: url.pathname,
      authorization: req.headers.authorization ?? null,
      contentType: req.headers["content-type"] ?? null,
    });
    if (!m) return fail(res, 404, 7003, "No route for that URI");
    if (req.headers.authorization !== `Bearer ${token}`)
      return fail(res, 403, 10000, "Authentication error");
    const [, account, namespace, name, bindingsPath] = m;
    if (!/^[a-z0-9-]{1,63}$/.test(name)) return fail(res, 400, 10021, "Script name is invalid");
    if (bindingsPath) {
      // Cloudflare's "Get script bindings": json and plain_text values come back, secrets never.
      if (req.method !== "GET") return fail(res, 405, 10000, "Method not allowed");
      const script = scripts.get(name);
      if (!script) return fail(res, 404, 10007, "This Worker does not exist on your account.");
      const result = script.metadata.bindings.map((b) =>
        b.type === "secret_text" ? { type: b.type, name: b.name } : b,
      );
      return envelope(res, 200, { success: true, errors: [], messages: [], result });
    }
    if (req.method === "DELETE") {
      if (!scripts.delete(name))
        return fail(res, 404, 10007, "This Worker does not exist on your account.");
      return envelope(res, 200, { success: true, errors: [], messages: [], result: null });
    }
    if (req.method !== "PUT") return fail(res, 405, 10000, "Method not allowed");
    let form;
    try {
      form = await new Request("http://standin/", {
        method: "PUT",
        headers: { "content-type": req.headers["content-type"] ?? "" },
        body,
      }).formData();
    } catch {
      return fail(res, 400, 10021, "Expected multipart/form-data");
    }
    const metaPart = form.get("metadata");
    if (!metaPart) return fail(res, 400, 10021, "Missing metadata part");
    const metadata = JSON.parse(typeof metaPart === "string" ? metaPart : await metaPart.text());
    const modules = {};
    const moduleTypes = {};
    for (const [key, value] of form.entries()) {
      if (key === "metadata") continue;
      modules[key] = typeof value === "string" ? value : await value.text();
      moduleTypes[key] = typeof value === "string" ? "text/plain" : value.type;
    }
    if (!metadata.main_module || !(metadata.main_module in modules))
      return fail(res, 400, 10021, "main_module must name an uploaded module part");
    scripts.set(name, { account, namespace, name, metadata, modules, moduleTypes });
    return envelope(res, 200, {
      success: true,
      errors: [],
      messages: [],
      result: { id: name, tags: metadata.tags ?? [], created_on: new Date().toISOString() },
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
