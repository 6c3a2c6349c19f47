/**
 * The conformance suite (test/conformance.ts) against the `service` backend: the real local
 * platform, whose plugin isolates run in the separate plugin-host process, as `npm start` runs it.
 * Each example plugin is built with the CLI's build, published by a fresh verified publisher
 * over HTTP, installed, called and uninstalled.
 */
import { join } from "node:path";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { beforeAll, inject, type ProvidedContext } from "vitest";
import { conformanceSuite, type PublishedBody } from "../conformance";
import { buildPluginFixture, examplePluginNames, type PluginFixture } from "../plugin-fixtures";
import { verifiedPublisher } from "./publisher";

const base = inject("baseUrl");
const operatorKey = inject("operatorKey");
const root = join(import.meta.dirname, "..", "..");

const names = examplePluginNames(root);
// The suite holds these objects from collection time; the builds fill them in before the tests.
const plugins: ProvidedContext["plugins"] = Object.fromEntries(
  names.map((n) => [n, {} as PluginFixture]),
);

beforeAll(async () => {
  for (const name of names)
    Object.assign(plugins[name] as object, await buildPluginFixture(root, name));
}, 120_000);

/** The built package under another scope (the manifest's name is the publisher's). */
function rescoped(zipBase64: string, scope: string): Uint8Array<ArrayBuffer> {
  const files = unzipSync(Buffer.from(zipBase64, "base64"));
  const manifest = JSON.parse(strFromU8(files["manifest.json"] as Uint8Array)) as { name: string };
  manifest.name = manifest.name.replace(/^@[^/]+\//, `@${scope}/`);
  files["manifest.json"] = strToU8(JSON.stringify(manifest));
  return zipSync(files) as Uint8Array<ArrayBuffer>;
}

conformanceSuite("service", plugins, () => ({
  async publish(name) {
    const { apiKey: key, slug } = await verifiedPublisher(base, operatorKey, "conf");
    const pub = await fetch(`${base}/v1/packages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/zip" },
      body: rescoped((plugins[name] as PluginFixture).zipBase64, slug),
    });
    if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${await pub.text()}`);
    return { key, ...((await pub.json()) as PublishedBody) };
  },
  call(path, init = {}) {
    const headers: Record<string, string> = {};
    if (init.key) headers["x-api-key"] = init.key;
    if (init.json !== undefined) headers["content-type"] = "application/json";
    return fetch(`${base}${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.json === undefined ? null : JSON.stringify(init.json),
    });
  },
}));
