// `npm start`: migrations, demo data on first start, and the platform at http://127.0.0.1:8787.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, readDevVars, seedDemo, seedTutorials, startPlatform } from "./local-platform.mjs";
import { buildPackages } from "./build-packages.mjs";

const port = Number(process.env.PORT ?? 8787);
// ATOLL_STATE_DIR (the tests): the local databases and the demo's credentials in that folder
// instead of .wrangler/state and .atoll.
const stateDir = process.env.ATOLL_STATE_DIR;
const credentialsPath = join(stateDir ?? join(ROOT, ".atoll"), "local-credentials.json");

console.log("Atoll: applying migrations and starting the local platform…");
// The SDK and CLI that the demo's plugins are built with, from their source.
await buildPackages();
// ATOLL_AUTO_APPROVE=false npm start: new versions wait for the operator's review, as in production.
const vars = process.env.ATOLL_AUTO_APPROVE
  ? { ATOLL_AUTO_APPROVE: process.env.ATOLL_AUTO_APPROVE }
  : {};
let platform;
try {
  platform = await startPlatform({
    port,
    inherit: true,
    vars,
    logLevel: process.env.ATOLL_LOG_LEVEL ?? "log",
    pluginBackend: process.env.ATOLL_PLUGIN_BACKEND ?? "service",
    ...(stateDir ? { persistTo: join(stateDir, "wrangler") } : {}),
    // The Cron Triggers on their schedule (ATOLL_CRONS=off: none; ATOLL_CRON_TICK_MS: the tests'
    // fast clock, one minute per tick).
    crons: process.env.ATOLL_CRONS !== "off",
    ...(process.env.ATOLL_CRON_TICK_MS
      ? { cronTickMs: Number(process.env.ATOLL_CRON_TICK_MS) }
      : {}),
  });
} catch (err) {
  console.error(`\nAtoll did not start: ${err.message}`);
  process.exit(1);
}
let creds;
try {
  creds = await seedDemo(platform.url, credentialsPath, readDevVars().ATOLL_OPERATOR_KEY, {
    saas: platform.saas.url,
    mail: platform.mail.url,
  });
  await seedTutorials(platform.url, readDevVars().ATOLL_OPERATOR_KEY);
} catch (err) {
  console.error(`\n${err.message}`);
  await platform.stop();
  process.exit(1);
}
// The banner only when every part answers (an orphan or a crashed stand-in is not "running").
const missing = await platform.unanswered();
if (missing.length > 0) {
  console.error(`\nAtoll did not start: ${missing.join("; ")} did not answer.`);
  await platform.stop();
  process.exit(1);
}
const u = platform.url;
console.log(`
──────────────────────────────────────────────────────────────────────────────
 Atoll is running at ${u}   (Ctrl-C stops it)
   API reference   ${u}/docs
   OpenAPI 3.1     ${u}/openapi.json
   JWKS            ${u}/.well-known/jwks.json
   Health          ${u}/healthz
   Stand-ins       ${platform.saas.url}/{salesforce,hubspot,slack,zapier,crm}   (third-party providers)
   Mail            ${platform.mail.url}   (invitations the platform mailed)

 Demo organization "${creds.organization.slug}"${creds.created ? " (created now)" : ""}
   API key         ${creds.apiKey}
   API key id      ${creds.apiKeyId}   (OAuth client_id)
   Operator key    ${creds.operatorKey}
 Saved to .atoll/local-credentials.json
${Object.entries(creds.plugins ?? {})
  .map(([name, endpoint]) => ` Plugin ${name.padEnd(19)} ${endpoint}`)
  .join("\n")}

 Try:  curl -s ${u}/v1/me -H "X-API-Key: ${creds.apiKey}"
──────────────────────────────────────────────────────────────────────────────
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, async () => {
    stopping = true;
    await platform.stop();
    process.exit(0);
  });
}
// The gateway ending on its own is a failure: say so, stop the rest, exit non-zero.
platform.child.on("exit", async (code, signal) => {
  if (stopping) return;
  console.error(`\nThe gateway stopped (${signal ?? `exit ${code}`}): stopping the platform.`);
  await platform.stop();
  process.exit(1);
});

// If whoever started us goes away without a signal reaching us (npm killed with SIGTERM does not
// forward it through its shell; npm killed with SIGKILL leaves its shell waiting on us), stop the
// platform rather than leave workerd holding the ports: our parent changed (it died), or our
// parent's parent did (npm, when the parent is the shell it ran this script with).
const parentOf = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
};
const parent = process.ppid;
const grandparent = parentOf(parent);
setInterval(async () => {
  if (process.ppid !== parent || parentOf(parent) !== grandparent) {
    stopping = true;
    await platform.stop();
    process.exit(0);
  }
}, 2_000).unref();
