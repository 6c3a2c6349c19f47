/**
 * Node-side setup for the workers tests: builds every plugin in plugins/ with the CLI's own build
 * (esbuild + the manifest schema), bundles the production outbound Worker (workers/outbound) for
 * the dispatch stand-in to run, and starts the stand-ins.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import type { ProvidedContext } from "vitest";
import type { TestProject } from "vitest/node";
import { buildPluginFixture, examplePluginNames } from "./plugin-fixtures";
import { startStripeStandIn } from "../scripts/standins/stripe.mjs";
import { startCloudflareApiStandIn } from "../scripts/standins/cloudflare-api.mjs";
import { startSaasStandIn } from "../scripts/standins/saas.mjs";
import { startCanary } from "./hostile/canary.mjs";
import { startMailStandIn } from "../scripts/standins/mail.mjs";
import { allowOrigin } from "./outbound-guard";

export default async function setup(project: TestProject) {
  const root = join(import.meta.dirname, "..");
  const plugins: ProvidedContext["plugins"] = {};
  for (const name of examplePluginNames(root)) plugins[name] = await buildPluginFixture(root, name);
  project.provide("plugins", plugins);
  project.provide("outboundWorker", await bundleOutboundWorker(root));
  const stripe = await startStripeStandIn({ port: Number(process.env.ATOLL_TEST_STRIPE_PORT) });
  const cf = await startCloudflareApiStandIn({ port: 0 });
  project.provide("cloudflareApi", { url: cf.url, token: cf.token });
  const saas = await startSaasStandIn({ port: 0, salesforceTokenTtlMs: 2_000 });
  project.provide("saas", saas.url);
  const canary = await startCanary();
  project.provide("canary", canary.url);
  const mail = await startMailStandIn({ port: Number(process.env.ATOLL_TEST_MAIL_PORT) });
  project.provide("mail", mail.url);
  // The only places a workers test (or the code it drives) may reach: see test/outbound-guard.ts.
  for (const standIn of [stripe.url, cf.url, saas.url, canary.url, mail.url]) allowOrigin(standIn);
  return async () => {
    await mail.close();
    await stripe.close();
    await cf.close();
    await saas.close();
    await canary.close();
  };
}

/**
 * workers/outbound bundled as wrangler would (one ES module), with the compatibility date of its
 * wrangler.toml, for the dispatch stand-in (test/dispatch-outbound.ts).
 */
async function bundleOutboundWorker(root: string): Promise<ProvidedContext["outboundWorker"]> {
  const out = await build({
    entryPoints: [join(root, "workers/outbound/src/index.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const file = out.outputFiles[0];
  if (!file) throw new Error("bundling workers/outbound produced no output");
  const toml = readFileSync(join(root, "workers/outbound/wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([\d-]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error("workers/outbound/wrangler.toml names no compatibility_date");
  return { module: file.text, compatibilityDate: date };
}
