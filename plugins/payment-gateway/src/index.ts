import { PluginError, definePlugin, type PluginContext } from "@atoll/sdk";

const API = "https://api.stripe.com/v1";

interface ChargeInput {
  /** Integer minor units (cents). */
  amount: number;
  currency: string;
  source: string;
  description?: string;
  /** Required: the same key always yields the same charge. */
  idempotencyKey: string;
}

interface Charge {
  id: string;
  amount: number;
  currency: string;
  status: string;
  paid: boolean;
}

function validate(input: unknown): ChargeInput {
  const i = (input ?? {}) as Partial<ChargeInput>;
  if (!Number.isInteger(i.amount) || (i.amount as number) <= 0) throw new PluginError(400, "amount must be a positive integer in minor units (cents)");
  if (typeof i.currency !== "string" || !/^[a-zA-Z]{3}$/.test(i.currency)) throw new PluginError(400, "currency must be an ISO 4217 code");
  if (typeof i.source !== "string" || i.source.length === 0) throw new PluginError(400, "source is required");
  if (typeof i.idempotencyKey !== "string" || i.idempotencyKey.length < 8 || i.idempotencyKey.length > 255) throw new PluginError(400, "idempotencyKey (8–255 characters) is required on every charge");
  return i as ChargeInput;
}

async function stripe(ctx: PluginContext<unknown>, path: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(`${API}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${ctx.secret("PAYMENT_API_KEY")}` } });
  const body = (await res.json()) as { error?: { message?: string } };
  if (!res.ok) throw new PluginError(res.status >= 500 ? 502 : res.status, `payment provider: ${body.error?.message ?? res.statusText}`);
  return body;
}

async function charge(raw: unknown, ctx: PluginContext<unknown>): Promise<Charge> {
  const input = validate(raw);
  const form = new URLSearchParams({ amount: String(input.amount), currency: input.currency.toLowerCase(), source: input.source });
  if (input.description) form.set("description", input.description);
  const c = (await stripe(ctx, "/charges", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "idempotency-key": input.idempotencyKey },
    body: form,
  })) as Charge;
  const result = { id: c.id, amount: c.amount, currency: c.currency, status: c.status, paid: c.paid };
  await ctx.storage.put(`charge:${c.id}`, result);
  return result;
}

export default definePlugin<unknown, ChargeInput, Charge>({
  execute: (input, ctx) => charge(input, ctx),
  routes(router) {
    router.post("/charges", async (req, ctx) => charge(await req.json(), ctx));
    router.get("/charges/:id", async (req, ctx) => {
      const id = req.params.id ?? "";
      if (!/^ch_[A-Za-z0-9]+$/.test(id)) throw new PluginError(400, "not a charge id");
      return stripe(ctx, `/charges/${id}`);
    });
  },
});
