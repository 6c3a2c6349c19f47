/**
 * `POST /__host/logs`: the local plugin host's traces (workers/plugin-host/src/log-bridge.ts). The
 * body is a sealed, single-use `relay` (host-auth.ts) holding the `logs` message the gateway sent
 * with a call of one installation and the traces; the traces are filed under that installation only, redacted and bounded by the
 * log store like every other backend's. Outside /v1: no API credential — only a holder of a
 * current message may call it, and only for the installation it names.
 */
import { Hono, type Context } from "hono";
import { problemResponse } from "../platform/http/problem";
import { z } from "zod";
import type { AppEnv } from "../platform/http/router";
import { NonceLedger, openRelay } from "./host-auth";
import { recordTrace } from "./log-store";
import { MAX_RECORDS } from "./logs";

export const hostLogRoutes = new Hono<AppEnv>();

const text = (max: number) => z.string().max(max);
const Envelope = z.object({ installationId: text(64) });
/** Relays already taken: each report is filed once. */
const relays = new NonceLedger();
// Generous: the host trims before it sends, and logRecords bounds what is kept (exceptions first).
const Traces = z
  .array(
    z.object({
      eventTimestamp: z.number().nullable().optional(),
      outcome: text(64).optional(),
      logs: z
        .array(z.object({ timestamp: z.number(), level: text(16), message: text(32_000) }))
        .max(10_000),
      exceptions: z
        .array(
          z.object({
            timestamp: z.number(),
            name: text(200),
            message: text(64_000),
            stack: text(64_000).optional(),
          }),
        )
        .max(MAX_RECORDS),
    }),
  )
  .max(16);

const MAX_BODY = 4 * 1024 * 1024;
const refuse = (c: Context<AppEnv>, status: 400 | 403 | 413, detail: string) =>
  problemResponse(
    {
      status,
      type: status === 403 ? "forbidden" : "bad-request",
      title: status === 403 ? "Forbidden" : "Bad request",
      detail,
    },
    c.get("requestId"),
    c.req.path,
  );

hostLogRoutes.post("/__host/logs", async (c) => {
  if (Number(c.req.header("content-length") ?? 0) > MAX_BODY)
    return refuse(c, 413, "A forwarded trace is at most 4 MiB.");
  const raw = await c.req.text();
  if (raw.length > MAX_BODY) return refuse(c, 413, "A forwarded trace is at most 4 MiB.");
  // The sealed relay first: without it, nothing about the body is looked at.
  const opened = await openRelay(
    c.env.ATOLL_HOST_SECRET ?? "",
    raw,
    "/__host/logs",
    "logs",
    relays,
  );
  let json: unknown = null;
  if (opened.ok) {
    try {
      json = JSON.parse(opened.body);
    } catch {
      json = null;
    }
  }
  const envelope = Envelope.safeParse(json);
  if (
    !opened.ok ||
    !envelope.success ||
    opened.message.installationId !== envelope.data.installationId
  )
    return refuse(
      c,
      403,
      "Only the plugin host, with a current sealed message, may forward traces.",
    );
  const traces = Traces.safeParse((json as { traces?: unknown }).traces);
  if (!traces.success) return refuse(c, 400, "The traces are malformed.");
  await recordTrace(c.env, envelope.data.installationId, traces.data);
  return c.body(null, 204);
});
