/**
 * How plugins' traces reach the log store (log-store.ts) from the gateway Worker itself:
 * - `LogTail`: the tail entrypoint each Worker Loader isolate gets (`tails`, loader-host.ts), one
 *   per installation through its props — a plugin cannot name another installation;
 * - `dispatchTail`: the Worker's `tail()` handler, the tail consumer of the dispatch namespace's
 *   user Workers in production (their upload names this Worker in `tail_consumers`). The
 *   installation comes from the trace's script tags, which the platform set at upload
 *   (dispatch-host.ts); a trace without them, or from another namespace, is ignored.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { recordTrace } from "./log-store";
import { installationOfTags } from "./script-tags";

export class LogTail extends WorkerEntrypoint<Env, { installationId: string }> {
  override async tail(events: TraceItem[]): Promise<void> {
    await recordTrace(this.env, this.ctx.props.installationId, events);
  }
}

/** The installation a dispatch-namespace trace belongs to, from its tags (or null). */
export function traceInstallation(item: TraceItem, namespace: string): string | null {
  if (item.dispatchNamespace !== undefined && item.dispatchNamespace !== namespace) return null;
  return installationOfTags(item.scriptTags ?? []);
}

export async function dispatchTail(events: TraceItem[], env: Env): Promise<void> {
  const byInstallation = new Map<string, TraceItem[]>();
  for (const item of events) {
    const id = traceInstallation(item, env.ATOLL_DISPATCH_NAMESPACE);
    if (id) byInstallation.set(id, [...(byInstallation.get(id) ?? []), item]);
  }
  for (const [id, items] of byInstallation) await recordTrace(env, id, items);
}
