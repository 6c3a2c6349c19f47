/**
 * The hostile-plugin suite: every attack a plugin (or a caller of a plugin) has tried against the
 * sandbox, as real packages published and installed through the API. The same cases run against
 * every backend (`loader` in workerd: test/integration/hostile-plugins.test.ts; `service`, the
 * local plugin host under the real local server: test/e2e/hostile-plugins.test.ts; the dispatch
 * stand-in where it applies), so a difference between backends shows as a failing test.
 *
 * A new capability is not done until it has its cases here.
 */
import { describe, expect, it } from "vitest";

export interface HostileTarget {
  /** A loopback server no plugin may reach (test/hostile/canary.mjs). */
  canary: string;
  /** Publishes a one-module plugin and installs it with every permission it declares. */
  install(
    source: string,
    manifest?: Record<string, unknown>,
  ): Promise<{ id: string; endpoint: string }>;
  /** Calls the platform as the installing organization (`path` is sent as is). */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** Requests the canary saw whose path contains `tag`. */
  hits(tag: string): Promise<number>;
}

const NET = { permissions: ["network:api.stripe.com"] };

/** A plugin that fetches `url` (with `init`) and reports what happened, never throwing. */
const fetcher = (url: string, init: Record<string, unknown> = {}) => `
export default { async fetch(req) {
  if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
  try {
    const res = await fetch(${JSON.stringify(url)}, ${JSON.stringify(init)});
    return Response.json({ status: res.status, egress: res.headers.get("x-atoll-egress"), body: (await res.text()).slice(0, 200) });
  } catch (err) {
    return Response.json({ error: String(err && err.message || err) });
  }
} };`;

export function hostileSuite(backend: string, target: () => HostileTarget): void {
  const canaryHostPort = () => new URL(target().canary).host;

  describe(`hostile plugins (${backend} backend): the network`, () => {
    it.each([
      [
        "a scheme-relative path on a granted host",
        (hp: string, tag: string) => `https://api.stripe.com//${hp}/${tag}`,
      ],
      [
        "a backslash path on a granted host",
        (hp: string, tag: string) => `https://api.stripe.com/\\${hp}/${tag}`,
      ],
      [
        "an encoded scheme-relative path",
        (hp: string, tag: string) => `https://api.stripe.com/%2F${hp}/${tag}`,
      ],
    ])("never reaches loopback through %s", async (_label, make) => {
      const tag = `rebase-${Math.random().toString(36).slice(2, 10)}`;
      const inst = await target().install(fetcher(make(canaryHostPort(), tag)), NET);
      const res = await target().call(`${inst.endpoint}/go`);
      expect(res.status).toBe(200);
      expect(JSON.stringify(await res.json())).not.toContain("canary reached");
      expect(await target().hits(tag)).toBe(0);
    });

    it("never reaches loopback through a WebSocket upgrade on a rebased path", async () => {
      const tag = `ws-${Math.random().toString(36).slice(2, 10)}`;
      const inst = await target().install(
        fetcher(`https://api.stripe.com//${canaryHostPort()}/${tag}`, {
          headers: { upgrade: "websocket" },
        }),
        NET,
      );
      await (await target().call(`${inst.endpoint}/go`)).text();
      expect(await target().hits(tag)).toBe(0);
    });

    it("re-checks and rebuilds a granted host's redirect to a rebased path", async () => {
      const tag = `redirect-${Math.random().toString(36).slice(2, 10)}`;
      const to = `https://api.stripe.com//${canaryHostPort()}/${tag}`;
      const inst = await target().install(
        fetcher(`https://api.stripe.com/__standin/redirect?to=${encodeURIComponent(to)}`),
        NET,
      );
      await (await target().call(`${inst.endpoint}/go`)).text();
      expect(await target().hits(tag)).toBe(0);
    });

    it.each([
      ["http on loopback", (hp: string, tag: string) => `http://${hp}/${tag}`],
      ["localhost", (hp: string, tag: string) => `https://localhost:${hp.split(":")[1]}/${tag}`],
      ["a decimal IP", (_hp: string, tag: string) => `https://2130706433/${tag}`],
      ["an IPv6 loopback", (_hp: string, tag: string) => `https://[::1]/${tag}`],
      [
        "a trailing-dot granted host on another port",
        (hp: string, tag: string) => `https://api.stripe.com.:${hp.split(":")[1]}/${tag}`,
      ],
    ])("refuses %s outright, with the outbound Worker's 403", async (_label, make) => {
      const tag = `direct-${Math.random().toString(36).slice(2, 10)}`;
      const inst = await target().install(fetcher(make(canaryHostPort(), tag)), NET);
      // The same answer on every backend (egressRefusal): a plugin sees locally what it sees in
      // production, where the namespace's outbound Worker answers it.
      const body = (await (await target().call(`${inst.endpoint}/go`)).json()) as {
        status?: number;
        egress?: string;
        body?: string;
      };
      expect(body).toMatchObject({ status: 403, egress: "refused" });
      expect(body.body).toContain("Atoll refused");
      expect(await target().hits(tag)).toBe(0);
    });

    it.each([
      ["with a network grant", NET],
      ["with no network grant", {}],
    ])(
      "refuses a raw socket (connect()) %s: nothing reaches loopback",
      async (_label, manifest) => {
        const tag = `socket-${Math.random().toString(36).slice(2, 10)}`;
        const [hostname, port] = canaryHostPort().split(":");
        const source = `import { connect } from "cloudflare:sockets";
      export default { async fetch(req) {
        if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        try {
          const socket = connect({ hostname: ${JSON.stringify(hostname)}, port: ${Number(port)} });
          const writer = socket.writable.getWriter();
          await writer.write(new TextEncoder().encode("GET /${tag} HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n"));
          const { value } = await socket.readable.getReader().read();
          return Response.json({ read: new TextDecoder().decode(value ?? new Uint8Array()) });
        } catch (err) {
          return Response.json({ error: String(err && err.message || err) });
        }
      } };`;
        const inst = await target().install(source, manifest);
        const body = (await (await target().call(`${inst.endpoint}/go`)).json()) as {
          error?: string;
          read?: string;
        };
        expect(body.read ?? "").not.toContain("canary reached");
        expect(body.error).toBeTruthy();
        expect(await target().hits(tag)).toBe(0);
      },
    );

    it("stops a call's fetches at its subrequest limit, naming it", async () => {
      const source = `export default { async fetch(req) {
        if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        let done = 0;
        try { for (let i = 0; i < 8; i++) { await (await fetch("https://api.stripe.com/v1/balance")).text(); done++; } }
        catch (err) { return Response.json({ done, error: String(err.message) }); }
        return Response.json({ done });
      } };`;
      const inst = await target().install(source, { ...NET, limits: { subrequests: 3 } });
      const first = (await (await target().call(`${inst.endpoint}/go`)).json()) as {
        done: number;
        error?: string;
      };
      expect(first).toMatchObject({ done: 3 });
      expect(first.error).toContain("subrequest limit");
      // The budget is per call: the next call has its own.
      const second = (await (await target().call(`${inst.endpoint}/go`)).json()) as {
        done: number;
      };
      expect(second.done).toBe(3);
    });

    it("does not lend the budget of calls abandoned at the deadline to later calls", async () => {
      const source = `export default { async fetch(req) {
        const path = new URL(req.url).pathname;
        if (path.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        if (path === "/hang") { await new Promise((r) => setTimeout(r, 60_000)); return new Response("late"); }
        let done = 0;
        try { for (let i = 0; i < 12; i++) { await (await fetch("https://api.stripe.com/v1/balance")).text(); done++; } }
        catch (err) { return Response.json({ done, error: String(err.message) }); }
        return Response.json({ done });
      } };`;
      const inst = await target().install(source, { ...NET, limits: { subrequests: 3 } });
      const hung = await Promise.all([1, 2, 3].map(() => target().call(`${inst.endpoint}/hang`)));
      expect(hung.map((r) => r.status)).toEqual([504, 504, 504]);
      // The deadline has passed for all three: the next call has its own 3, not 12.
      const after = (await (await target().call(`${inst.endpoint}/go`)).json()) as { done: number };
      expect(after.done).toBe(3);
    }, 60_000);
  });

  describe(`hostile plugins (${backend} backend): lifecycle paths`, () => {
    const lifecycleSpy = `export default { async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path.toLowerCase().includes("__atoll")) return Response.json({ ok: true }, { headers: { "x-reached": "lifecycle" } });
      return Response.json({ path });
    } };`;

    it.each([
      "/__atoll/cleanup",
      "//x/__atoll/cleanup",
      "//__atoll/cleanup",
      "/%2F__atoll/cleanup",
      "/%2f/__atoll/event",
      "/%5C__atoll/cleanup",
      "/%5c%5c/__atoll/cleanup",
      "/./__atoll/cleanup",
      "/%2e/__atoll/cleanup",
      "/%2E%2E/__atoll/initialize",
      "/x/%2e%2e/__atoll/cleanup",
      "/__ATOLL/cleanup",
      "/%5F%5Fatoll/cleanup",
      "/__atoll%2Fcleanup",
      "/__atoll",
    ])("a caller's %s never reaches a lifecycle hook", async (path) => {
      const inst = await target().install(lifecycleSpy);
      const res = await target().call(`${inst.endpoint}${path}`, { method: "POST" });
      expect(res.headers.get("x-reached")).toBeNull();
      expect([400, 404]).toContain(res.status);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    });

    it("still passes ordinary paths, encoded characters and query strings through", async () => {
      const inst = await target().install(lifecycleSpy);
      const res = await target().call(`${inst.endpoint}/files/a%20b/c?x=1`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ path: "/files/a%20b/c" });
    });
  });

  describe(`hostile plugins (${backend} backend): forged platform signals`, () => {
    it("cannot make its own response pass for a host failure", async () => {
      const inst = await target().install(`export default { fetch(req) {
        if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        return new Response(JSON.stringify({ kind: "integrity", message: "[atoll:integrity] forged" }), { status: 200, headers: { "x-atoll-host-error": "1", "content-type": "application/json" } });
      } };`);
      const res = await target().call(`${inst.endpoint}/x`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-atoll-host-error")).toBeNull();
    });

    it("sees none of the platform's own headers on its request (no sealed message, no spec)", async () => {
      const inst = await target().install(`export default { fetch(req) {
        if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        return Response.json([...req.headers]);
      } };`);
      for (let i = 0; i < 2; i++) {
        // A caller who sends host headers of its own gets them dropped, not passed on.
        const res = await target().call(`${inst.endpoint}/x`, {
          headers: { "x-atoll-host-auth": "forged", "x-atoll-host-spec": "forged" },
        });
        expect(res.status).toBe(200);
        const headers = (await res.json()) as [string, string][];
        expect(headers.filter(([name]) => name.startsWith("x-atoll-host-"))).toEqual([]);
        expect(JSON.stringify(headers)).not.toMatch(/"kind"|eyJ|forged/);
      }
    });

    it.each([
      [
        "an integrity failure",
        "[atoll:integrity] package does not match its recorded hash",
        "plugin-error",
      ],
      ["a recycled host", "the plugin host is not reachable: forged", "plugin-error"],
      // Only Cloudflare enforces CPU limits (the dispatch backend), where its words are believed.
      ...(backend.startsWith("dispatch")
        ? []
        : [["a platform limit", "Worker exceeded CPU time limit.", "plugin-error"]]),
    ])("cannot pass its own error off as %s", async (_label, message, type) => {
      const inst = await target().install(`export default { fetch(req) {
        if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        throw new Error(${JSON.stringify(message)});
      } };`);
      const res = await target().call(`${inst.endpoint}/x`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { type: string }).type).toContain(type);
    });
  });

  describe(`hostile plugins (${backend} backend): oversized answers`, () => {
    it("cannot answer with an unbounded amount of header bytes", async () => {
      const inst = await target().install(`export default { fetch(req) {
        if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        const h = new Headers();
        for (let i = 0; i < 64; i++) h.set("x-pad-" + i, "a".repeat(8000));
        return new Response("ok", { headers: h });
      } };`);
      const res = await target().call(`${inst.endpoint}/x`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { type: string }).type).toContain("plugin-response-too-large");
    });
  });

  describe(`hostile plugins (${backend} backend): slow answers`, () => {
    it("is cut off when its body pauses longer than the idle timeout", async () => {
      const inst = await target().install(`export default { fetch(req) {
        if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        let n = 0;
        const body = new ReadableStream({ async pull(c) { if (n++ > 0) await new Promise((r) => setTimeout(r, 4000)); c.enqueue(new TextEncoder().encode("x")); } });
        return new Response(body);
      } };`);
      const started = Date.now();
      const res = await target().call(`${inst.endpoint}/trickle`);
      expect(res.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(8_000);
    });

    it("is cut off at the deadline when it trickles its body without pausing long", async () => {
      const inst = await target().install(`export default { fetch(req) {
        if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
        const body = new ReadableStream({ async pull(c) { await new Promise((r) => setTimeout(r, 300)); c.enqueue(new TextEncoder().encode("x")); } });
        return new Response(body);
      } };`);
      const res = await target().call(`${inst.endpoint}/trickle`);
      expect(res.status).toBe(504);
      expect(((await res.json()) as { detail: string }).detail).toContain(
        "did not finish its answer",
      );
    }, 30_000);
  });
}
