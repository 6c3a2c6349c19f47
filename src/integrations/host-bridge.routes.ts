/**
 * `POST /__host/integrations`: the local plugin host's integration calls (see
 * workers/plugin-host/src/integration-bridge.ts). The body carries a grant the gateway sealed for one
 * installation at one revision (runtime/host-auth.ts); organization, environment and providers
 * come from that installation as the gateway knows it, never from the request. Outside /v1: no API
 * credential, no API rate limit — only a holder of a current grant may call it.
 */
import { installationSpec } from "../runtime/resolve";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../platform/http/router";
import { parseAll } from "../contract/permissions";
import { open } from "../runtime/host-auth";
import { forwardForPlugin } from "./gate";

export const hostBridgeRoutes = new Hono<AppEnv>();

const Body = z.object({
  grant: z.string().max(4096),
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
  const parsed = Body.safeParse(await c.req.json().catch(() => null));
  if (!parsed.success) return c.json({ error: "bad request" }, 400);
  const { grant, provider, path, init } = parsed.data;
  const opened = await open(c.env.ATOLL_HOST_SECRET ?? "", grant, "grant");
  if (!opened.ok) return c.json({ error: "forbidden" }, 403);
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
