/**
 * `POST /__host/logs`: the local plugin host's traces (workers/plugin-host/src/log-bridge.ts). The
 * body carries the sealed `logs` message the gateway sent with a call of one installation
 * (host-auth.ts); the traces are filed under that installation only, redacted and bounded by the
 * log store like every other backend's. Outside /v1: no API credential — only a holder of a
 * current message may call it, and only for the installation it names.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/http/router";
import { open } from "./host-auth";
import { recordTrace } from "./log-store";
import { MAX_RECORDS } from "./logs";

export const hostLogRoutes = new Hono<AppEnv>();

const text = (max: number) => z.string().max(max);
const Body = z.object({
  token: text(4096),
  installationId: text(64),
  traces: z
    .array(
      z.object({
        eventTimestamp: z.number().nullable().optional(),
        outcome: text(64).optional(),
        logs: z
          .array(z.object({ timestamp: z.number(), level: text(16), message: text(32_000) }))
          .max(MAX_RECORDS * 20),
        exceptions: z
          .array(
            z.object({
              timestamp: z.number(),
              name: text(200),
              message: text(32_000),
              stack: text(64_000).optional(),
            }),
          )
          .max(MAX_RECORDS),
      }),
    )
    .max(16),
});

hostLogRoutes.post("/__host/logs", async (c) => {
  const raw = await c.req.text();
  if (raw.length > 4 * 1024 * 1024) return c.json({ error: "too large" }, 413);
  let json: unknown = null;
  try {
    json = JSON.parse(raw);
  } catch {
    json = null;
  }
  const parsed = Body.safeParse(json);
  if (!parsed.success) return c.json({ error: "bad request" }, 400);
  const { token, installationId, traces } = parsed.data;
  const opened = await open(c.env.ATOLL_HOST_SECRET ?? "", token, "logs");
  if (!opened.ok || opened.message.installationId !== installationId)
    return c.json({ error: "forbidden" }, 403);
  await recordTrace(c.env, installationId, traces);
  return c.body(null, 204);
});
