// The layering rules of docs/architecture.md, checked from the imports (run by `npm test`):
//  1. the ground floor imports nothing above it: src/contract/ imports nothing of the repository
//     outside itself; src/platform/ imports only itself and src/contract/;
//  2. packages/* import only their own files and src/contract/;
//  3. plugins/* import only @atoll/sdk (and their own files);
//  4. a domain imports another domain only through that domain's public files (PUBLIC below).
// Prints each breach with the file and the import; exits 1 if there is any.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SKIP = new Set(["node_modules", "dist", ".wrangler", ".generated"]);
const DOMAINS = [
  "access",
  "catalog",
  "installations",
  "runtime",
  "gateway",
  "revenue",
  "integrations",
  "portal",
  "web",
  "events",
];
/** What a domain offers the others. Anything else in it is its own business. */
export const PUBLIC = {
  access: [
    "access/principal.ts",
    "access/authenticate.ts",
    "access/scopes.ts",
    "access/audit.ts",
    "access/queries.ts",
    "access/schemas.ts",
    "access/credential-cache.ts",
    "access/revoke.ts",
    "access/api-keys.ts",
    "access/ratelimit/policy.ts",
    "access/ratelimit/middleware.ts",
    "access/ratelimit/provider-webhooks.ts",
    "access/ratelimit/installation.ts",
    "access/ratelimit/durable-object.ts",
    "access/tokens/api-key.ts",
  ],
  catalog: ["catalog/queries.ts", "catalog/listing.ts", "catalog/modules.ts"],
  installations: ["installations/queries.ts", "installations/config.ts"],
  runtime: [
    "runtime/resolve.ts",
    "runtime/invoke.ts",
    "runtime/spec.ts",
    "runtime/host.ts",
    "runtime/loader-host.ts",
    "runtime/storage.ts",
    "runtime/egress.ts",
    "runtime/egress-policy.ts",
    "runtime/packages.ts",
    "runtime/plugin-path.ts",
    "runtime/host-auth.ts",
    "runtime/service-host.ts",
    "runtime/log-store.ts",
    "runtime/bindings.ts",
  ],
  gateway: [],
  revenue: [
    "revenue/entitlements.ts",
    "revenue/till.ts",
    "revenue/processor.ts",
    "revenue/purchases.ts",
    "revenue/money.ts",
    "revenue/scheduled.ts",
  ],
  integrations: [
    "integrations/events.ts",
    "integrations/egress-policy.ts",
    "integrations/sync.ts",
    "integrations/broker.ts",
    "integrations/gate.ts",
    "integrations/webhooks.routes.ts",
    "integrations/connectors/index.ts",
    "integrations/connectors/types.ts",
  ],
  portal: [
    "portal/openapi.ts",
    "portal/markdown.ts",
    "portal/tutorials.routes.ts",
    "portal/codegen/routes.ts",
  ],
  web: [],
  events: ["events/emit.ts", "events/topics.ts", "events/deliver.ts"],
};

function files(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, out);
    else if (/\.(ts|tsx|mts|mjs|js)$/.test(e.name)) out.push(p);
  }
  return out;
}

const IMPORT =
  /(?:^|[^\w.])(?:import|export)\s[^;"'`]*?from\s*["']([^"']+)["']|(?:^|[^\w.])import\s*\(\s*["']([^"']+)["']\s*\)|(?:^|[^\w.])import\s+["']([^"']+)["']/gm;
/** Import specifiers of a file, leaving out template literals (generated code in portal/codegen). */
export function importsOf(text) {
  const code = text.replace(/`(?:\\[\s\S]|\$\{[^}]*\}|[^`\\])*`/g, "``");
  return [...code.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

const rel = (p) => relative(ROOT, p).split(sep).join("/");
const breaches = [];
for (const file of [
  ...files(join(ROOT, "src")),
  ...files(join(ROOT, "packages")),
  ...files(join(ROOT, "plugins")),
]) {
  const from = rel(file);
  for (const spec of importsOf(readFileSync(file, "utf8"))) {
    const target = spec.startsWith(".") ? rel(resolve(dirname(file), spec)) : null;
    const bad = (why) => breaches.push(`${from}: imports "${spec}" — ${why}`);
    if (from.startsWith("src/contract/")) {
      if (target && !target.startsWith("src/contract/"))
        bad("the contract imports nothing of the repository outside itself");
    } else if (from.startsWith("src/platform/")) {
      if (target && !target.startsWith("src/platform/") && !target.startsWith("src/contract/"))
        bad("the platform imports only itself and the contract");
    } else if (from.startsWith("packages/")) {
      const own = from.split("/").slice(0, 2).join("/") + "/";
      if (target && !target.startsWith(own) && !target.startsWith("src/contract/"))
        bad("a package imports only its own files and src/contract/");
      // create-atoll is the CLI's `init` under npm's initializer name; the CLI's project template
      // is a plugin project, whose tests run on the CLI's dev server.
      const allowed = from.startsWith("packages/create-atoll/")
        ? ["@atoll/cli"]
        : from.startsWith("packages/cli/template/test/")
          ? ["@atoll/sdk", "@atoll/cli/testing"]
          : ["@atoll/sdk"];
      if (!target && spec.startsWith("@atoll/") && !allowed.includes(spec))
        bad(`a package may depend on ${allowed.join(", ")} only`);
    } else if (from.startsWith("plugins/")) {
      const own = from.split("/").slice(0, 2).join("/") + "/";
      if (target && !target.startsWith(own))
        bad("a plugin imports only @atoll/sdk and its own files");
      if (!target && !spec.startsWith("@atoll/sdk") && !spec.startsWith("cloudflare:"))
        bad("a plugin imports only @atoll/sdk");
    } else if (from.startsWith("src/") && target?.startsWith("src/")) {
      const [, fromDomain] = from.split("/");
      const [, toDomain] = target.split("/");
      if (DOMAINS.includes(fromDomain) && DOMAINS.includes(toDomain) && fromDomain !== toDomain) {
        const name = target.slice("src/".length).replace(/(\.tsx?)?$/, "");
        if (!PUBLIC[toDomain].some((p) => p.replace(/\.tsx?$/, "") === name))
          bad(
            `${toDomain}/ is reached only through its public files (${PUBLIC[toDomain].join(", ") || "none"})`,
          );
      }
    }
  }
}
if (breaches.length) {
  console.error(
    `Layering: ${breaches.length} breach(es) of docs/architecture.md:\n  ${breaches.join("\n  ")}`,
  );
  process.exit(1);
}
console.log("Layering holds: ground floor, packages, plugins and domain boundaries.");
