/**
 * Stand-ins for the production backend (Workers for Platforms): the Cloudflare script-upload API
 * (a local server, scripts/standins/cloudflare-api.mjs, as strict as Cloudflare on uploads) and a
 * dispatch namespace binding that runs what was uploaded in a Worker Loader isolate, as
 * Cloudflare's does:
 * - only a script uploaded to its account and namespace runs; another name throws "Worker not
 *   found" (what Cloudflare's dispatcher throws);
 * - the env is built from the upload's bindings alone, service bindings resolved by name and
 *   entrypoint through the platform Worker's exports, no special cases;
 * - every fetch the plugin makes goes to the namespace's outbound Worker — the real
 *   workers/outbound code, bundled by the global setup and run as its own isolate whose env is the
 *   call's `outbound` parameters, even with no host granted — not to the local egress gate; its
 *   own network maps granted hosts to the local stand-ins and applies no policy, so every refusal
 *   is the outbound Worker's (test/dispatch-outbound.ts). `connect()` is refused (Cloudflare
 *   blocks it when an outbound Worker is set);
 * - the call's `limits` are handed to the isolate (cpuMs, subRequests); subRequests are counted
 *   per call, one for each fetch the plugin makes (as Cloudflare counts; the outbound Worker's own
 *   redirect hops are its own). cpuMs is not enforced: local workerd ignores it (a 2 s spin with
 *   cpuMs 10 runs to the end), and wall time is no measure of CPU, so only the gateway's deadline
 *   bounds a spinning plugin here (docs/deploying.md lists it as a real account's to settle);
 * - the traces go to the tail consumer the upload names.
 */
import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";
import { installationOfTags } from "../src/runtime/script-tags";
import { dispatchBudgets, standInExports, type OutboundWorkerCode } from "./dispatch-outbound";

export const cf = inject("cloudflareApi");

/** The account and namespace the tests' dispatch backend uses (known to the API stand-in). */
export const ACCOUNT = "acc_test";
export const NAMESPACE = "atoll-plugins";

interface Uploaded {
  metadata: {
    main_module: string;
    compatibility_date: string;
    bindings: { type: string; name: string; [k: string]: unknown }[];
    tags: string[];
    tail_consumers?: { service: string }[];
  };
  modules: Record<string, string>;
  moduleTypes: Record<string, string>;
}

/** What the API stand-in stored for script `name` (secrets included), or null. */
export async function uploaded(name: string, account = ACCOUNT): Promise<Uploaded | null> {
  const res = await fetch(`${cf.url}/__standin/scripts/${account}/${NAMESPACE}/${name}`);
  return res.status === 200 ? ((await res.json()) as Uploaded) : null;
}

/** A fresh account of the API stand-in (with the namespace), for tests that queue faults. */
export async function standInAccount(): Promise<string> {
  const account = `acc_${crypto.randomUUID().replaceAll("-", "")}`;
  await fetch(`${cf.url}/__standin/accounts`, {
    method: "POST",
    body: JSON.stringify({ account, namespaces: [NAMESPACE] }),
  });
  return account;
}

/** Queues faults for an account's next API requests (see scripts/standins/cloudflare-api.mjs). */
export async function queueFaults(
  account: string,
  faults: { method?: "PUT" | "DELETE"; status: number; retryAfter?: number; store?: boolean }[],
): Promise<void> {
  await fetch(`${cf.url}/__standin/faults`, {
    method: "POST",
    body: JSON.stringify({ account, faults }),
  });
}

/** The API requests the stand-in received for an account. */
export async function apiLog(
  account = ACCOUNT,
): Promise<{ method: string; path: string; authorization: string; contentType: string }[]> {
  const log = (await (await fetch(`${cf.url}/__standin/log`)).json()) as {
    method: string;
    path: string;
    account: string | null;
    authorization: string;
    contentType: string;
  }[];
  return log.filter((l) => l.account === account);
}

/** The real outbound Worker (workers/outbound), bundled by the global setup. */
const realOutbound: OutboundWorkerCode = { id: "workers/outbound", ...inject("outboundWorker") };

/**
 * A stand-in DispatchNamespace of `account`: runs the uploaded script, recording each get().
 * `outboundWorker` replaces the namespace's outbound Worker (a test's own, to watch what reaches
 * it); by default it is the production one.
 */
export function standInDispatcher(account = ACCOUNT, outboundWorker = realOutbound) {
  const calls: {
    name: string;
    options: {
      limits?: { cpuMs?: number; subRequests?: number };
      outbound?: Record<string, unknown>;
    };
  }[] = [];
  const ns = {
    get(name: string, _args: unknown, options: (typeof calls)[number]["options"]) {
      calls.push({ name, options });
      return {
        async fetch(input: RequestInfo, init?: RequestInit) {
          const script = await uploaded(name, account);
          // Cloudflare's words for a script the namespace does not hold.
          if (!script) throw new Error(`Worker not found: ${name}`);
          const bindings: Record<string, unknown> = {};
          for (const b of script.metadata.bindings) {
            if (b.type === "json") bindings[b.name] = b.json;
            else if (b.type === "secret_text" || b.type === "plain_text") bindings[b.name] = b.text;
            else if (b.type === "service") {
              // A service binding to a Worker's entrypoint, by name, with its props: the account's
              // only Worker here is the platform (the API stand-in refused any other at upload).
              const entry = (exports as unknown as Record<string, unknown>)[String(b.entrypoint)];
              if (b.service !== "atoll" || typeof entry !== "function")
                throw new Error(
                  `binding ${b.name}: no entrypoint ${String(b.entrypoint)} on ${String(b.service)}`,
                );
              bindings[b.name] = (entry as (o: { props: unknown }) => unknown)({ props: b.props });
            } else throw new Error(`binding ${b.name}: type ${b.type} is not supported here`);
          }
          // Cloudflare hands a user Worker's traces, with its script tags, to the tail consumers
          // its upload names; the stand-in does so through the platform's tail entrypoint, with
          // the installation its tags name.
          const tagged = installationOfTags(script.metadata.tags);
          const tails =
            tagged && script.metadata.tail_consumers?.some((c) => c.service === "atoll")
              ? [exports.LogTail({ props: { installationId: tagged } })]
              : [];
          const limits = {
            cpuMs: Number(options.limits?.cpuMs ?? 50),
            subRequests: Number(options.limits?.subRequests ?? 50),
          };
          const outbound = options.outbound ?? {};
          // One isolate per script and outbound parameters: its outbound side is bound at load.
          const id = `dispatch:${account}:${name}:${outboundWorker.id}:${JSON.stringify(outbound)}`;
          const worker = env.LOADER.get(id, () => ({
            tails,
            compatibilityDate: script.metadata.compatibility_date,
            mainModule: script.metadata.main_module,
            modules: script.modules,
            env: bindings,
            // Every fetch goes to the namespace's outbound Worker (none granted: it refuses each),
            // and connect() is blocked (test/dispatch-outbound.ts).
            globalOutbound: standInExports.DispatchOutbound({
              props: { outbound, budget: id, worker: outboundWorker },
            }),
          }));
          // Cloudflare enforces limits.subRequests per call: a budget for this call's fetches.
          const end = dispatchBudgets.begin(id, limits.subRequests, 10_000);
          try {
            return await worker
              .getEntrypoint(undefined, { limits })
              .fetch(new Request(input, init));
          } finally {
            end();
          }
        },
      };
    },
  };
  return { ns: ns as unknown as DispatchNamespace, calls };
}

export function dispatchEnv(dispatcher: DispatchNamespace, token = cf.token, account = ACCOUNT) {
  return {
    ...env,
    ATOLL_PLUGIN_BACKEND: "dispatch",
    DISPATCHER: dispatcher,
    ATOLL_CF_API_BASE: cf.url,
    ATOLL_CF_ACCOUNT_ID: account,
    ATOLL_DISPATCH_NAMESPACE: NAMESPACE,
    ATOLL_CF_API_TOKEN: token,
  };
}
