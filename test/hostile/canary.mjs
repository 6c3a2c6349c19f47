// A loopback server that a plugin must never reach: it records every request it gets (by path)
// and every connection. The hostile-plugin suite points attacks at it and asserts it saw nothing.
//   GET /__canary/hits?tag=T   → {"hits": n} requests whose path contained T
import { createServer } from "node:http";

/** @param {{ port?: number }} [options] */
export async function startCanary({ port = 0 } = {}) {
  const seen = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://canary");
    if (url.pathname === "/__canary/hits") {
      const tag = url.searchParams.get("tag") ?? "";
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ hits: seen.filter((p) => p.includes(tag)).length }));
    }
    seen.push(req.url ?? "");
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("canary reached");
  });
  server.on("upgrade", (req, socket) => {
    seen.push(req.url ?? "");
    socket.destroy();
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
