/**
 * `POST /__host/integrations`: the local plugin host's integration calls (see
 * workers/plugin-host/src/integration-bridge.ts). The body is a sealed, single-use `relay`
 * (runtime/host-auth.ts) holding the call and a grant the gateway sealed for one installation at
 * one revision (runtime/host-auth.ts); organization, environment and providers
 * come from that installation as the gateway knows it, never from the request. Outside /v1: no API
 * credential, no API rate limit — only a holder of a current grant may call it.
 */
import { installationSpec } from "../runtime/resolve";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/http/router";
import { parseAll } from "../contract/permissions";
import { NonceLedger, openRelay } from "../runtime/host-auth";
import { forwardForPlugin } from "./gate";

export const hostBridgeRoutes = new Hono<AppEnv>();

/** Relays already taken: each integration call runs once. */
const relays = new NonceLedger();
const MAX_RELAY_CHARS = 2 * 1024 * 1024;

const Body = z.object({
  provider: z.string().max(30),
  path: z.string().max(2000),
  init: z.object({
    method: z.string().max(10).optional(),
    headers: z.record(z.string(), z.string().max(4096)).optional(),
    body: z
      .string()
      .max(1024 * 1024)
      .optional(),
  }),
});

hostBridgeRoutes.post("/__host/integrations", async (c) => {
  const raw = await c.req.text();
  if (raw.length > MAX_RELAY_CHARS) return c.json({ error: "too large" }, 413);
  const opened = await openRelay(
    c.env.ATOLL_HOST_SECRET ?? "",
    raw,
    "/__host/integrations",
    "grant",
    relays,
  );
  if (!opened.ok) return c.json({ error: "forbidden" }, 403);
  let json: unknown = null;
  try {
    json = JSON.parse(opened.body);
  } catch {
    json = null;
  }
  const parsed = Body.safeParse(json);
  if (!parsed.success) return c.json({ error: "bad request" }, 400);
  const { provider, path, init } = parsed.data;
  const spec = await installationSpec(c.env, opened.message.installationId);
  if (!spec || spec.revision !== opened.message.revision)
    return c.json({ error: "forbidden" }, 403);
  const providers = parseAll(spec.grants).flatMap((p) =>
    p.kind === "integrations" ? [p.provider as string] : [],
  );
  return c.json(
    await forwardForPlugin(
      c.env,
      {
        installationId: spec.installationId,
        orgId: spec.orgId,
        environment: spec.environment,
        providers,
      },
      provider,
      path,
      init,
    ),
    200,
  );
});
