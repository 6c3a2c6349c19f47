/**
 * Stand-ins for the production backend (Workers for Platforms): the Cloudflare script-upload API
 * (a local server, scripts/standins/cloudflare-api.mjs) and a dispatch namespace binding that runs
 * what was uploaded in a Worker Loader isolate, with the bindings from the upload's metadata, the
 * outbound parameters of each dispatch call (through the egress gate) and its subrequest limit;
 * its traces go to the tail consumer the upload names.
 */
import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";
import { subrequestBudgets } from "../src/runtime/egress";
import { installationOfTags } from "../src/runtime/script-tags";

export const cf = inject("cloudflareApi");

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

export async function uploaded(name: string): Promise<Uploaded | null> {
  const res = await fetch(`${cf.url}/__standin/scripts/${name}`);
  return res.status === 200 ? ((await res.json()) as Uploaded) : null;
}

/** A stand-in DispatchNamespace: runs the uploaded script, recording each get(). */
export function standInDispatcher() {
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
          const script = await uploaded(name);
          if (!script) throw new Error(`Worker "${name}" not found in the dispatch namespace`);
          const bindings: Record<string, unknown> = {};
          for (const b of script.metadata.bindings) {
            if (b.type === "json") bindings[b.name] = b.json;
            else if (b.type === "secret_text" || b.type === "plain_text") bindings[b.name] = b.text;
            else if (b.type === "service" && b.service === "atoll") {
              // A service binding to the platform's entrypoint, by name, with its props.
              const entry = (exports as unknown as Record<string, unknown>)[String(b.entrypoint)];
              if (typeof entry !== "function")
                throw new Error(`no entrypoint ${String(b.entrypoint)} on the platform Worker`);
              bindings[b.name] = (entry as (o: { props: unknown }) => unknown)({ props: b.props });
            } else throw new Error(`binding ${b.name}: type ${b.type} is not supported here`);
          }
          const hosts = String(options.outbound?.hosts ?? "")
            .split(",")
            .filter(Boolean);
          // Cloudflare hands a user Worker's traces, with its script tags, to the tail consumers
          // its upload names; the stand-in does so through the platform's tail entrypoint, with
          // the installation its tags name.
          const tagged = installationOfTags(script.metadata.tags);
          const tails =
            tagged && script.metadata.tail_consumers?.some((c) => c.service === "atoll")
              ? [exports.LogTail({ props: { installationId: tagged } })]
              : [];
          const worker = env.LOADER.get(`dispatch:${name}`, () => ({
            tails,
            compatibilityDate: script.metadata.compatibility_date,
            mainModule: script.metadata.main_module,
            modules: script.modules,
            env: bindings,
            globalOutbound: hosts.length
              ? exports.Egress({
                  props: {
                    installationId: String(options.outbound?.installationId),
                    hosts,
                    isolate: `dispatch:${name}`,
                  },
                })
              : null,
          }));
          // Cloudflare enforces limits.subRequests per call; the stand-in does it with the egress gate's budgets.
          const end = subrequestBudgets.begin(
            `dispatch:${name}`,
            Number(options.limits?.subRequests ?? 50),
            10_000,
          );
          try {
            return await worker.getEntrypoint().fetch(new Request(input, init));
          } finally {
            end();
          }
        },
      };
    },
  };
  return { ns: ns as unknown as DispatchNamespace, calls };
}

export function dispatchEnv(dispatcher: DispatchNamespace, token = cf.token) {
  return {
    ...env,
    ATOLL_PLUGIN_BACKEND: "dispatch",
    DISPATCHER: dispatcher,
    ATOLL_CF_API_BASE: cf.url,
    ATOLL_CF_ACCOUNT_ID: "acc_test",
    ATOLL_DISPATCH_NAMESPACE: "atoll-plugins",
    ATOLL_CF_API_TOKEN: token,
  };
}
