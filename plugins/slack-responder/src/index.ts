import { PluginError, definePlugin, type PluginContext, type PluginEvent } from "@atoll/sdk";

interface Config {
  prefix?: string;
}

interface Mention {
  channel: string;
  user?: string;
  text?: string;
  ts?: string;
}

interface Reply {
  channel: string;
  text: string;
  ts: string | null;
  at: string;
}

/** Posts through the organization's Slack connection: Atoll injects the bot token. */
async function post(
  ctx: PluginContext<Config>,
  channel: string,
  text: string,
  threadTs?: string,
): Promise<Reply> {
  const res = await ctx.integration("slack").fetch("/api/chat.postMessage", {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify({ channel, text, ...(threadTs ? { thread_ts: threadTs } : {}) }),
  });
  const body = (await res.json()) as { ok?: boolean; error?: string; ts?: string };
  if (!res.ok || !body.ok)
    throw new PluginError(502, `Slack refused the message: ${body.error ?? res.status}`);
  const reply = { channel, text, ts: body.ts ?? null, at: new Date().toISOString() };
  const recent = (await ctx.storage.get<Reply[]>("replies")) ?? [];
  await ctx.storage.put("replies", [reply, ...recent].slice(0, 20));
  return reply;
}

export default definePlugin<Config>({
  events: {
    "slack.app_mention": async (event: PluginEvent, ctx) => {
      const m = event.payload as Mention;
      if (!m?.channel) return;
      const said = (m.text ?? "").replace(/<@[A-Z0-9]+>/g, "").trim();
      await post(
        ctx,
        m.channel,
        `${ctx.config.prefix ?? "Got it"}${m.user ? `, <@${m.user}>` : ""}: “${said.slice(0, 200)}”`,
        m.ts,
      );
    },
  },
  routes(router) {
    router.get("/replies", async (_req, ctx) => ({
      replies: (await ctx.storage.get<Reply[]>("replies")) ?? [],
    }));
    router.post("/say", async (req, ctx) => {
      const { channel, text } = (await req.json()) as { channel?: unknown; text?: unknown };
      if (
        typeof channel !== "string" ||
        !channel ||
        typeof text !== "string" ||
        !text ||
        text.length > 3000
      )
        throw new PluginError(400, "channel and text (≤ 3000 characters) are required");
      return post(ctx, channel, text);
    });
  },
});
