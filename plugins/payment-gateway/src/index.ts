import { PluginError, definePlugin, type PluginContext } from "@atoll/sdk";

const API = "https://api.stripe.com/v1";

/**
 * The payment capability: charges, refunds and payouts (Connect transfers) through Stripe's HTTP
 * API. Every money-moving call requires an idempotency key, passed to Stripe as the
 * Idempotency-Key header, so a retried call (after a timeout or a lost response) returns the
 * original result instead of moving money twice. Amounts are integer minor units.
 */

interface ChargeInput {
  amount: number;
  currency: string;
  source: string;
  description?: string;
  /** Up to 20 string pairs stored with the charge (Stripe metadata). */
  metadata?: Record<string, string>;
  idempotencyKey: string;
}

interface RefundInput {
  charge: string;
  /** Omitted: whatever is left of the charge. */
  amount?: number;
  idempotencyKey: string;
}

interface TransferInput {
  amount: number;
  currency: string;
  /** A connected account: acct_… */
  destination: string;
  description?: string;
  metadata?: Record<string, string>;
  idempotencyKey: string;
}

interface Charge {
  id: string;
  amount: number;
  currency: string;
  status: string;
  paid: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function amountOf(v: unknown, what = "amount"): number {
  if (!Number.isSafeInteger(v) || (v as number) <= 0)
    throw new PluginError(400, `${what} must be a positive integer in minor units`);
  return v as number;
}

function currencyOf(v: unknown): string {
  if (typeof v !== "string" || !/^[a-zA-Z]{3}$/.test(v))
    throw new PluginError(400, "currency must be an ISO 4217 code");
  return v.toLowerCase();
}

function keyOf(v: unknown): string {
  if (typeof v !== "string" || v.length < 8 || v.length > 255)
    throw new PluginError(
      400,
      "idempotencyKey (8–255 characters) is required on every money-moving call",
    );
  return v;
}

function metadataOf(v: unknown, form: URLSearchParams): void {
  if (v === undefined) return;
  if (!isObject(v) || Object.keys(v).length > 20)
    throw new PluginError(400, "metadata must be an object of at most 20 strings");
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== "string" || k.length > 40 || value.length > 500)
      throw new PluginError(400, "metadata keys are at most 40 and values at most 500 characters");
    form.set(`metadata[${k}]`, value);
  }
}

/** Calls Stripe; provider errors keep their meaning (402 declined, 400 invalid), outages are 502. */
async function stripe(
  ctx: PluginContext<unknown>,
  path: string,
  init: RequestInit = {},
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${API}${path}`, {
      ...init,
      headers: {
        ...(init.headers as Record<string, string>),
        authorization: `Bearer ${ctx.secret("PAYMENT_API_KEY")}`,
      },
    });
  } catch {
    throw new PluginError(502, "payment provider unreachable");
  }
  let body: { error?: { message?: string } };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new PluginError(502, "payment provider answered garbage");
  }
  if (!res.ok)
    throw new PluginError(
      res.status >= 500 || res.status === 429 ? 502 : res.status,
      `payment provider: ${body.error?.message ?? res.statusText}`,
    );
  return body;
}

function post(
  ctx: PluginContext<unknown>,
  path: string,
  form: URLSearchParams,
  idempotencyKey: string,
): Promise<unknown> {
  return stripe(ctx, path, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "idempotency-key": idempotencyKey,
    },
    body: form,
  });
}

async function charge(raw: unknown, ctx: PluginContext<unknown>): Promise<Charge> {
  const i = isObject(raw) ? raw : {};
  const form = new URLSearchParams({
    amount: String(amountOf(i.amount)),
    currency: currencyOf(i.currency),
  });
  if (typeof i.source !== "string" || i.source.length === 0 || i.source.length > 255)
    throw new PluginError(400, "source is required");
  form.set("source", i.source);
  if (typeof i.description === "string") form.set("description", i.description.slice(0, 500));
  metadataOf(i.metadata, form);
  const c = (await post(ctx, "/charges", form, keyOf(i.idempotencyKey))) as Charge;
  const result = {
    id: c.id,
    amount: c.amount,
    currency: c.currency,
    status: c.status,
    paid: c.paid,
  };
  await ctx.storage.put(`charge:${c.id}`, result);
  return result;
}

async function refund(raw: unknown, ctx: PluginContext<unknown>) {
  const i = (isObject(raw) ? raw : {}) as Partial<RefundInput>;
  if (typeof i.charge !== "string" || !/^ch_[A-Za-z0-9]+$/.test(i.charge))
    throw new PluginError(400, "charge must be a charge id");
  const form = new URLSearchParams({ charge: i.charge });
  if (i.amount !== undefined) form.set("amount", String(amountOf(i.amount)));
  const r = (await post(ctx, "/refunds", form, keyOf(i.idempotencyKey))) as {
    id: string;
    amount: number;
    currency: string;
    status: string;
    charge: string;
  };
  return { id: r.id, amount: r.amount, currency: r.currency, status: r.status, charge: r.charge };
}

async function transfer(raw: unknown, ctx: PluginContext<unknown>) {
  const i = (isObject(raw) ? raw : {}) as Partial<TransferInput>;
  const form = new URLSearchParams({
    amount: String(amountOf(i.amount)),
    currency: currencyOf(i.currency),
  });
  if (typeof i.destination !== "string" || !/^acct_[A-Za-z0-9]+$/.test(i.destination))
    throw new PluginError(400, "destination must be a connected account id (acct_…)");
  form.set("destination", i.destination);
  if (typeof i.description === "string") form.set("description", i.description.slice(0, 500));
  metadataOf(i.metadata, form);
  const t = (await post(ctx, "/transfers", form, keyOf(i.idempotencyKey))) as {
    id: string;
    amount: number;
    currency: string;
    destination: string;
  };
  return { id: t.id, amount: t.amount, currency: t.currency, destination: t.destination };
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
    router.post("/refunds", async (req, ctx) => refund(await req.json(), ctx));
    router.post("/transfers", async (req, ctx) => transfer(await req.json(), ctx));
  },
});
