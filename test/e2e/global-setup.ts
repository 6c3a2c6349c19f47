/**
 * Starts the real local platform (wrangler dev, its own state folder and free ports) plus a
 * stand-in external identity provider (a JWKS endpoint on loopback), seeds the demo data the way
 * `npm start` does, and hands the URLs to the tests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { exportJWK, generateKeyPair } from "jose";
import { startCanary } from "../hostile/canary.mjs";
import {
  freePorts,
  seedDemo,
  seedTutorials,
  startPlatformOnFreePorts,
} from "../../scripts/local-platform.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    /** The local plugin host (service backend). */
    hostUrl: string;
    /** Process groups of the platform's processes (gateway, plugin host). */
    processGroups: number[];
    credentialsPath: string;
    operatorKey: string;
    idp: { issuer: string; audience: string; privateJwk: Record<string, unknown>; kid: string };
  }
}

const OPERATOR_KEY = "e2e-operator-key-0123456789";

export default async function setup(project: TestProject) {
  const state = mkdtempSync(join(tmpdir(), "atoll-e2e-"));
  // Stand-in identity provider: serves its JWKS (RS256) on loopback.
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = "idp-key-1";
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const idpServer: Server = createServer((req, res) => {
    if (req.url === "/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  const [idpPort] = await freePorts(1);
  await new Promise<void>((r) => idpServer.listen(idpPort, "127.0.0.1", r));
  const issuer = `http://127.0.0.1:${idpPort}`;

  const platform = await startPlatformOnFreePorts({
    persistTo: state,
    logLevel: process.env.ATOLL_E2E_LOG ?? "warn",
    vars: {
      ATOLL_OPERATOR_KEY: OPERATOR_KEY,
      ATOLL_IDP_ISSUER: issuer,
      ATOLL_IDP_JWKS_URL: `${issuer}/jwks.json`,
      ATOLL_IDP_AUDIENCE: "atoll-e2e",
      ATOLL_IDP_ORG_CLAIM: "org",
      ATOLL_REQUEST_LOG: "on",
      ATOLL_PLUGIN_DEADLINE_MS: "2000",
      // Only verified publishers (the seeded demo ones) skip review: the browser test's operator
      // approves a newcomer's version.
      ATOLL_AUTO_APPROVE: "verified",
    },
  });
  const credentialsPath = join(state, "local-credentials.json");
  const demo = await seedDemo(platform.url, credentialsPath, OPERATOR_KEY, {
    saas: platform.saas.url,
    mail: platform.mail.url,
  });
  await seedTutorials(platform.url, OPERATOR_KEY);
  // Every e2e file drives the demo organization's key; on the free plan (60 calls a minute) files
  // that happen to run within the same minute would starve each other. The rate-limit behaviour
  // itself is tested with fresh free-plan keys.
  const plan = await fetch(
    `${platform.url}/v1/operator/organizations/${demo.organization.id}/plan`,
    {
      method: "PUT",
      headers: { "x-api-key": OPERATOR_KEY, "content-type": "application/json" },
      body: JSON.stringify({ plan: "pro" }),
    },
  );
  if (plan.status !== 200) throw new Error(`setting the demo plan failed: ${plan.status}`);

  project.provide("baseUrl", platform.url);
  project.provide("hostUrl", platform.hostUrl);
  project.provide("processGroups", platform.processGroups());
  const canary = await startCanary();
  project.provide("canary", canary.url);
  project.provide("saas", platform.saas.url);
  project.provide("mail", platform.mail.url);
  project.provide("credentialsPath", credentialsPath);
  project.provide("operatorKey", OPERATOR_KEY);
  project.provide("idp", {
    issuer,
    audience: "atoll-e2e",
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: "RS256" },
    kid,
  });

  return async () => {
    await platform.stop();
    await canary.close();
    await new Promise((r) => idpServer.close(r));
    rmSync(state, { recursive: true, force: true });
  };
}
