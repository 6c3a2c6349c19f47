// `npm run deploy`: everything production needs, in order — the checks below, the remote D1
// migrations, the dispatch namespace's outbound Worker, then the gateway (whose wrangler.toml
// [build] step makes its generated inputs). `node scripts/deploy.mjs --check` runs the checks only.
//
// The checks refuse a deploy that would fail or be useless: a placeholder left in a production
// value (migrations would fail, then every install would answer 502), a required secret missing
// from the documented `wrangler secret put` commands (the upload is refused under strict binding
// inheritance), no route to the production hostname, an outbound Worker on workers.dev, a secret
// also declared as a var, a top-level (development) Worker named like production's (a bare
// `wrangler deploy` would overwrite production with development settings).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");

/** The text of one TOML table (`[name]` up to the next table header), or "" if absent. */
function table(toml, name) {
  const lines = toml.split("\n");
  const start = lines.findIndex((l) => l.trim() === `[${name}]`);
  if (start < 0) return "";
  const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** Everything of the production environment: its own tables (`[env.production…]`, `[[env.production…]]`). */
function productionPart(toml) {
  const out = [];
  let inside = false;
  for (const line of toml.split("\n")) {
    const header = /^\s*\[\[?([^\]]+)\]\]?/.exec(line);
    if (header) inside = header[1].trim().startsWith("env.production");
    if (inside && !/^\s*#/.test(line)) out.push(line);
  }
  return out.join("\n");
}

const keysOf = (tableText) =>
  [...tableText.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1]);

/**
 * The problems that must stop a deploy, each a sentence naming what to fix (empty: deployable).
 * Inputs are the files' texts, so tests can check altered copies.
 */
export function deployProblems({ gateway, outbound, deploying }) {
  const problems = [];
  const prod = productionPart(gateway);
  for (const m of new Set([...prod.matchAll(/REPLACE_WITH_[A-Z0-9_]+/g)].map((x) => x[0])))
    problems.push(
      `wrangler.toml [env.production] still holds the placeholder ${m}: see docs/deploying.md`,
    );
  const secrets = /required\s*=\s*\[([^\]]*)\]/.exec(table(gateway, "env.production.secrets"));
  const required = secrets ? [...secrets[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [];
  if (required.length === 0)
    problems.push("wrangler.toml declares no [env.production.secrets] required list");
  for (const name of required) {
    if (!new RegExp(`wrangler secret put ${name} --env production`).test(deploying))
      problems.push(
        `the required secret ${name} has no \`wrangler secret put ${name} --env production\` in docs/deploying.md`,
      );
  }
  const vars = keysOf(table(gateway, "env.production.vars"));
  for (const name of required.filter((n) => vars.includes(n)))
    problems.push(`${name} is both a var and a required secret in [env.production]`);
  const prodTable = table(gateway, "env.production");
  const nameOf = (text) => /^\s*name\s*=\s*"([^"]*)"/m.exec(text)?.[1];
  const topLevel = nameOf(gateway.split(/^\s*\[/m)[0]);
  const production = nameOf(prodTable);
  if (!production) problems.push("wrangler.toml [env.production] names no Worker (name = …)");
  else if (topLevel === production || topLevel === undefined)
    problems.push(
      `wrangler.toml's top-level name must differ from [env.production]'s "${production}": a bare \`wrangler deploy\` would overwrite production with development settings`,
    );
  if (!/^\s*routes\s*=/m.test(prodTable) && !/^\s*route\s*=/m.test(prodTable))
    problems.push(
      "wrangler.toml [env.production] has no routes: the production hostname never reaches the Worker",
    );
  if (!/^\s*workers_dev\s*=\s*false/m.test(outbound))
    problems.push(
      "workers/outbound/wrangler.toml must set workers_dev = false (the outbound Worker is no public endpoint)",
    );
  return problems;
}

function run(args) {
  console.log(`$ wrangler ${args.join(" ")}`);
  const res = spawnSync(join(root, "node_modules", ".bin", "wrangler"), args, {
    cwd: root,
    stdio: "inherit",
  });
  if (res.status !== 0) process.exit(res.status ?? 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const read = (p) => readFileSync(join(root, p), "utf8");
  const problems = deployProblems({
    gateway: read("wrangler.toml"),
    outbound: read("workers/outbound/wrangler.toml"),
    deploying: read("docs/deploying.md"),
  });
  if (problems.length > 0) {
    console.error(`Not deploying:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    process.exit(1);
  }
  if (process.argv.includes("--check")) {
    console.log("deploy checks passed");
    process.exit(0);
  }
  run(["d1", "migrations", "apply", "DB", "--remote", "--env", "production"]);
  run(["deploy", "-c", "workers/outbound/wrangler.toml"]);
  run(["deploy", "--env", "production"]);
}
