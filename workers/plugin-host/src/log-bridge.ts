/**
 * The plugin host's `LogTail`: the tail of every isolate it runs (loader-host.ts). The host keeps
 * no logs: each trace goes to the gateway (`POST /__host/logs`) in a sealed `relay`, with the
 * installation's sealed
 * `logs` message — the latest one the gateway sent with a call of this installation
 * (host-auth.ts) — and the gateway redacts and stores it. The installation comes from the tail's
 * props (set by the host, never by the plugin) and must match the sealed message.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import {
  MAX_RECORDS,
  formatMessage,
  traceHasRecords,
  type TraceLike,
} from "../../../src/runtime/logs";
import { sealRelay } from "../../../src/runtime/host-auth";
import type { HostEnv } from "./env";

const tokens = new Map<string, string>();

/** Keeps the newest sealed `logs` message of an installation (sent with each of its calls). */
export function rememberLogsToken(installationId: string, token: string): void {
  if (tokens.size > 10_000) tokens.clear();
  tokens.set(installationId, token);
}

/** A trace as JSON can carry it: console arguments formatted here, redaction left to the gateway. */
export function portableTrace(items: readonly TraceItem[]): TraceLike[] {
  return items.map((item) => ({
    eventTimestamp: item.eventTimestamp,
    outcome: item.outcome,
    // Bounded here too, and the exceptions always sent: the gateway keeps them first.
    logs: item.logs.slice(0, MAX_RECORDS * 20).map((l) => ({
      timestamp: l.timestamp,
      level: l.level,
      message: formatMessage(l.message),
    })),
    exceptions: item.exceptions.slice(0, MAX_RECORDS).map((e) => ({
      timestamp: e.timestamp,
      name: String(e.name).slice(0, 200),
      message: String(e.message).slice(0, 16_000),
      ...(e.stack ? { stack: String(e.stack).slice(0, 16_000) } : {}),
    })),
  }));
}

export class HostLogTail extends WorkerEntrypoint<HostEnv, { installationId: string }> {
  override async tail(events: TraceItem[]): Promise<void> {
    // A call that logged nothing costs no hop to the gateway.
    if (!traceHasRecords(events)) return;
    const token = tokens.get(this.ctx.props.installationId);
    if (!token) return;
    // Sealed whole: the token and the traces are neither readable nor replayable on loopback.
    const res = await fetch(`${this.env.ATOLL_GATEWAY_URL}/__host/logs`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: await sealRelay(
        this.env.ATOLL_HOST_SECRET,
        "/__host/logs",
        token,
        JSON.stringify({
          installationId: this.ctx.props.installationId,
          traces: portableTrace(events),
        }),
      ),
    });
    await res.body?.cancel();
  }
}
