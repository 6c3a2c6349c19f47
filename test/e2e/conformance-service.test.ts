/**
 * The conformance suite (test/conformance.ts) against the `service` backend: the real local
 * platform, whose plugin isolates run in the separate plugin-host process, as `npm start` runs it.
 * Each example plugin is built with the CLI's build, published by a fresh verified publisher
 * over HTTP, installed, called and uninstalled.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { beforeAll, inject, type ProvidedContext } from "vitest";
import { buildPlugin } from "../../packages/cli/src/build";
import { conformanceSuite, type PublishedBody } from "../conformance";

const base = inject("baseUrl");
const operatorKey = inject("operatorKey");
const root = join(import.meta.dirname, "..", "..");

const names = readdirSync(join(root, "plugins"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const plugins: ProvidedContext["plugins"] = {};
const zips: Record<string, Uint8Array> = {};

beforeAll(async () => {
  for (const name of names) {
    const dir = join(root, "plugins", name);
    const built = await buildPlugin(dir);
    zips[name] = built.bytes;
    // In place: the suite holds these objects from collection time.
    Object.assign(plugins[name] as object, {
      zipBase64: "",
      manifest: {
        name: built.manifest.name,
        version: built.manifest.version,
        permissions: built.manifest.permissions,
        routes: built.manifest.routes ?? [],
      },
      conformance: JSON.parse(
        readFileSync(join(dir, "conformance.json"), "utf8"),
      ) as ProvidedContext["plugins"][string]["conformance"],
    });
  }
}, 120_000);

/** A verified publisher on an enterprise plan (its packages skip review under the harness). */
async function publisher(): Promise<{ key: string; slug: string }> {
  const tag = `conf${Math.random().toString(36).slice(2, 8)}`;
  const res = await fetch(`${base}/v1/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: `${tag}@example.test`,
      name: tag,
      organization: { name: tag, slug: tag },
    }),
  });
  const body = (await res.json()) as { apiKey: string; organization: { id: string; slug: string } };
  for (const [path, json] of [
    ["verified", { verified: true }],
    ["plan", { plan: "enterprise" }],
  ] as const)
    await fetch(`${base}/v1/operator/organizations/${body.organization.id}/${path}`, {
      method: "PUT",
      headers: { "x-api-key": operatorKey, "content-type": "application/json" },
      body: JSON.stringify(json),
    });
  return { key: body.apiKey, slug: body.organization.slug };
}

/** The built package under another scope (the manifest's name is the publisher's). */
function rescoped(zip: Uint8Array, scope: string): Uint8Array<ArrayBuffer> {
  const files = unzipSync(zip);
  const manifest = JSON.parse(strFromU8(files["manifest.json"] as Uint8Array)) as { name: string };
  manifest.name = manifest.name.replace(/^@[^/]+\//, `@${scope}/`);
  files["manifest.json"] = strToU8(JSON.stringify(manifest));
  return zipSync(files) as Uint8Array<ArrayBuffer>;
}

// describe.each needs the plugin names when the file is collected: the fixtures fill in before
// the tests run, under the same keys.
for (const name of names)
  plugins[name] = plugins[name] ?? ({} as ProvidedContext["plugins"][string]);

conformanceSuite("service", plugins, () => ({
  async publish(name) {
    const { key, slug } = await publisher();
    const pub = await fetch(`${base}/v1/packages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/zip" },
      body: rescoped(zips[name] as Uint8Array, slug),
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
