/**
 * The payment provider's webhooks (Stripe's format). Signed over the raw body, de-duplicated by
 * event id, and applied so that the end state does not depend on delivery order: a
 * `charge.refunded` event carries the charge's cumulative `amount_refunded`, and only what
 * exceeds what the ledger already has (recorded or pending) is recorded — a repeated or an older
 * event changes nothing. Refunds made outside Atoll (the provider's dashboard) land in the
 * ledger this way.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, sql } from "drizzle-orm";
import { bodyLimit } from "hono/body-limit";
import { createRouter } from "../platform/http/router";
import { getDb } from "../platform/db/client";
import { providerEvents, purchases, refunds } from "../platform/db/schema";
import { ApiError, badRequest } from "../platform/http/problem";
import { problems } from "../platform/http/schemas";
import { refund } from "./refunds";
import { processorFor } from "./purchases.routes";
import { verifyStripe } from "./stripe-signature";
import { PAYMENTS_WEBHOOK_LIMIT, takeDeliveryBudget } from "../access/ratelimit/provider-webhooks";
import { publicRoute } from "../access/authenticate";
import { dispatchEvent } from "../events/emit";

export const paymentsWebhookRoutes = createRouter();

export const WEBHOOK_PATH = "/v1/payments/webhook";
const MAX_EVENT_BYTES = 256 * 1024;

const Event = z.object({
  id: z.string().regex(/^evt_\w{1,100}$/),
  type: z.string().max(100),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
const RefundedCharge = z.object({
  id: z.string().regex(/^ch_\w{1,100}$/),
  amount_refunded: z.number().int().nonnegative(),
  refunds: z.object({ data: z.array(z.object({ id: z.string().max(120) })) }).optional(),
});

const route = createRoute(
  publicRoute(
    {
      method: "post",
      path: WEBHOOK_PATH,
      tags: ["Revenue"],
      summary: "Payment-provider webhook (Stripe-Signature); applies charge.refunded idempotently",
      middleware: [
        bodyLimit({
          maxSize: MAX_EVENT_BYTES,
          onError: () => {
            throw new ApiError({
              status: 413,
              type: "payload-too-large",
              title: "Request body too large",
              detail: `Events are at most ${MAX_EVENT_BYTES} bytes.`,
            });
          },
        }),
      ],
      responses: {
        200: {
          description: "Received",
          content: {
            "application/json": {
              schema: z.object({
                received: z.boolean(),
                duplicate: z.boolean(),
                applied: z.boolean(),
              }),
            },
          },
        },
        ...problems(400, 413, 429, 503),
      },
    },
    { credentials: "ignored" },
  ),
);

paymentsWebhookRoutes.openapi(route, async (c) => {
  const secret = c.env.ATOLL_PAYMENTS_WEBHOOK_SECRET;
  if (!secret)
    throw new ApiError({
      status: 503,
      type: "webhooks-not-configured",
      title: "Service unavailable",
      detail: "Payment webhooks are not configured.",
    });
  const raw = await c.req.text();
  const check = await verifyStripe(secret, c.req.header("stripe-signature"), raw);
  if (!check.ok)
    throw badRequest(
      `The Stripe-Signature header is ${check.reason === "outside-window" ? "outside the 5-minute window" : check.reason}.`,
      "signature-invalid",
      { reason: check.reason },
    );
  await takeDeliveryBudget(c, "payments-webhook", "payments", PAYMENTS_WEBHOOK_LIMIT);
  let parsed: z.infer<typeof Event>;
  try {
    parsed = Event.parse(JSON.parse(raw));
  } catch {
    throw badRequest("The body is not a provider event.", "invalid-event");
  }
  const db = getDb(c.env.DB);
  const [seen] = await db.select().from(providerEvents).where(eq(providerEvents.id, parsed.id));
  if (seen) return c.json({ received: true, duplicate: true, applied: false }, 200);

  let applied = false;
  if (parsed.type === "charge.refunded") {
    const charge = RefundedCharge.safeParse(parsed.data.object);
    if (!charge.success) throw badRequest("charge.refunded carries no charge.", "invalid-event");
    const [p] = await db
      .select()
      .from(purchases)
      .where(eq(purchases.providerChargeId, charge.data.id));
    if (p) {
      const [pending] = await db
        .select({ n: sql<number>`COALESCE(SUM(${refunds.amount}), 0)` })
        .from(refunds)
        .where(and(eq(refunds.purchaseId, p.id), eq(refunds.status, "pending")));
      const missing = charge.data.amount_refunded - p.refundedAmount - Number(pending?.n ?? 0);
      if (missing > 0) {
        const providerRefundId = charge.data.refunds?.data[0]?.id ?? `external:${parsed.id}`;
        const done = await refund(db, processorFor(c), {
          purchase: p,
          amount: missing,
          reason: "refunded at the payment provider",
          owner: "provider",
          key: `${charge.data.id}:${charge.data.amount_refunded}`,
          actor: "provider",
          providerRefundId,
          requestId: c.get("requestId"),
        });
        for (const id of done.eventIds) await dispatchEvent(c.env, db, id);
        applied = true;
      }
    }
  }
  await db
    .insert(providerEvents)
    .values({ id: parsed.id, type: parsed.type, receivedAt: Date.now() })
    .onConflictDoNothing();
  return c.json({ received: true, duplicate: false, applied }, 200);
});
