/**
 * The conformance suite (test/conformance.ts) against the dispatch backend's path: installs upload
 * a user Worker to the Cloudflare API stand-in, calls go through the stand-in dispatch namespace
 * (test/dispatch-standin.ts), which builds the user Worker's env from its uploaded bindings only.
 */
import { inject } from "vitest";
import { app } from "../../src/app";
import { conformanceSuite } from "../conformance";
import { dispatchEnv, standInDispatcher } from "../dispatch-standin";
import { publishExample } from "../plugin-helpers";

const { ns } = standInDispatcher();
const e = dispatchEnv(ns);

conformanceSuite("dispatch stand-in", inject("plugins"), () => ({
  // Publishing does not depend on the backend; installs and calls go through the dispatch path.
  publish: publishExample,
  async call(path, init = {}) {
    const headers: Record<string, string> = {};
    if (init.key) headers["x-api-key"] = init.key;
    if (init.json !== undefined) headers["content-type"] = "application/json";
    return app.request(
      new Request(`http://atoll.test${path}`, {
        method: init.method ?? "GET",
        headers,
        body: init.json === undefined ? null : JSON.stringify(init.json),
      }),
      undefined,
      e,
    );
  },
}));
