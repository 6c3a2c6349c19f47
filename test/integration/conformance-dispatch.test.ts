/**
 * The conformance suite (test/conformance.ts) against the dispatch backend's path: installs upload
 * a user Worker to the Cloudflare API stand-in, calls go through the stand-in dispatch namespace
 * (test/dispatch-standin.ts), which builds the user Worker's env from its uploaded bindings only.
 */
import { inject } from "vitest";
import { app } from "../../src/app";
import { conformanceSuite, type PublishedBody } from "../conformance";
import { dispatchEnv, standInDispatcher } from "../dispatch-standin";
import { examplePackage, publishZip, publisher } from "../plugin-helpers";

const { ns } = standInDispatcher();
const e = dispatchEnv(ns);

conformanceSuite("dispatch stand-in", inject("plugins"), () => ({
  // Publishing does not depend on the backend; installs and calls go through the dispatch path.
  async publish(name) {
    const a = await publisher("cd");
    const pub = await publishZip(a, examplePackage(name, a.slug));
    if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${await pub.text()}`);
    return { key: a.apiKey, ...((await pub.json()) as PublishedBody) };
  },
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
