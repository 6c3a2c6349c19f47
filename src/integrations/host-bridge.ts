/**
 * `POST /__host/integrations`: the local plugin host's integration calls (see
 * src/plugin-host/integration-bridge.ts), authenticated by the loopback host secret, compared in
 * constant time. Outside /v1: no API credential, no API rate limit — only the host may call it.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app";
import { secretsEqual } from "../crypto/hash";
import { HOST_SECRET_HEADER } from "../runtime/service-host";
import { forwardForPlugin } from "./gate";

export const hostBridge = new Hono<AppEnv>();

const Body = z.object({
  props: z.object({ installationId: z.string().max(60), orgId: z.string().max(60), environment: z.string().max(20), providers: z.array(z.string().max(30)).max(10) }),
  provider: z.string().max(30),
  path: z.string().max(2000),
  init: z.object({ method: z.string().max(10).optional(), headers: z.record(z.string(), z.string().max(4096)).optional(), body: z.string().max(1024 * 1024).optional() }),
});

hostBridge.post("/__host/integrations", async (c) => {
  const secret = c.env.ATOLL_HOST_SECRET;
  if (!secret || !(await secretsEqual(c.req.header(HOST_SECRET_HEADER) ?? "", secret))) return c.json({ error: "forbidden" }, 403);
  const parsed = Body.safeParse(await c.req.json().catch(() => null));
  if (!parsed.success) return c.json({ error: "bad request" }, 400);
  const { props, provider, path, init } = parsed.data;
  return c.json(await forwardForPlugin(c.env, props, provider, path, init), 200);
});
