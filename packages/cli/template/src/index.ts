import { definePlugin } from "@atoll/sdk";

interface Config {
  greeting?: string;
}

export default definePlugin<Config, { name?: string }, { message: string }>({
  async initialize(ctx) {
    await ctx.storage.put("installedAt", new Date().toISOString());
  },
  execute(input, ctx) {
    return { message: `${ctx.config.greeting ?? "Hello"}, ${input?.name ?? "world"}!` };
  },
  async cleanup(ctx) {
    await ctx.storage.delete("visits");
  },
  routes(router) {
    router.get("/", async (_req, ctx) => ({
      plugin: "hello",
      message: `${ctx.config.greeting ?? "Hello"}, world!`,
      caller: ctx.caller,
      installedAt: await ctx.storage.get<string>("installedAt"),
    }));
    router.get("/hello/:name", (req, ctx) => ({
      message: `${ctx.config.greeting ?? "Hello"}, ${decodeURIComponent(req.params.name ?? "")}!`,
    }));
    router.post("/visits", async (_req, ctx) => {
      const visits = ((await ctx.storage.get<number>("visits")) ?? 0) + 1;
      await ctx.storage.put("visits", visits);
      console.log("visit", visits); // atoll logs shows it (and atoll dev prints it)
      return { visits };
    });
  },
});
