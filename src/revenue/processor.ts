/**
 * The payment capability as the platform uses it: charges, refunds and payouts. In the platform
 * it is an installed plugin granted `payments` (locally the `payment-gateway` example, which
 * speaks Stripe's wire format to the Stripe stand-in); the operator chooses which installation
 * with `PUT /v1/operator/payments`. Answers are validated (zod) and classified into a Result:
 * `declined`/`invalid` are the buyer's or caller's problem (4xx), `unavailable` means the outcome
 * is unknown (timeout, lost response, provider 5xx) and is retried with the same idempotency key.
 */
import { z } from "zod";
import { eq } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import { platformSettings } from "../platform/db/schema";
import { loadSpec } from "../runtime/resolve";
import { ApiError, toApiError } from "../platform/http/problem";
import { invokePlugin, pluginRequest } from "../runtime/invoke";
import type { PluginHost } from "../runtime/host";

export type Failure = {
  ok: false;
  reason: "declined" | "invalid" | "unavailable";
  message: string;
};
export type Result<T> = { ok: true; value: T } | Failure;

export interface ChargeRequest {
  amount: number;
  currency: string;
  source: string;
  description: string;
  metadata: Record<string, string>;
  idempotencyKey: string;
}
export interface RefundRequest {
  charge: string;
  amount: number;
  idempotencyKey: string;
}
export interface TransferRequest {
  amount: number;
  currency: string;
  destination: string;
  description: string;
  idempotencyKey: string;
}

export interface PaymentProcessor {
  charge(r: ChargeRequest): Promise<Result<{ id: string }>>;
  refund(r: RefundRequest): Promise<Result<{ id: string }>>;
  transfer(r: TransferRequest): Promise<Result<{ id: string }>>;
}

const Charge = z.object({
  id: z.string().regex(/^ch_\w{1,100}$/),
  amount: z.number().int(),
  status: z.string(),
});
const Refund = z.object({ id: z.string().regex(/^re_\w{1,100}$/), amount: z.number().int() });
const Transfer = z.object({ id: z.string().regex(/^tr_\w{1,100}$/), amount: z.number().int() });
const PluginFailure = z.object({ error: z.string().max(2000) });

export const PAYMENTS_SETTING = "payments.installation";

/** The installation serving as the payment processor, if the operator chose one. */
export async function processorInstallation(db: Db): Promise<string | null> {
  const [row] = await db
    .select()
    .from(platformSettings)
    .where(eq(platformSettings.key, PAYMENTS_SETTING));
  return row?.value ?? null;
}

/** Maps a failure to the problem the platform's caller sees. */
export function failureProblem(f: Failure, what: string): ApiError {
  switch (f.reason) {
    case "declined":
      return new ApiError({
        status: 402,
        type: "payment-declined",
        title: "Payment declined",
        detail: `The ${what} was declined: ${f.message}`,
      });
    case "invalid":
      return new ApiError({
        status: 402,
        type: "payment-failed",
        title: "Payment failed",
        detail: `The payment provider refused the ${what}: ${f.message}`,
      });
    case "unavailable":
      return new ApiError({
        status: 503,
        type: "payments-unavailable",
        title: "Payments unavailable",
        detail: `The payment provider did not confirm the ${what}; retry with the same Idempotency-Key (nothing will be charged twice).`,
        headers: { "retry-after": "2" },
        internal: f.message,
      });
  }
}

/** The payment capability served by an installed plugin through the platform's plugin host. */
export class PluginProcessor implements PaymentProcessor {
  constructor(
    private readonly db: Db,
    private readonly secretKey: string,
    private readonly host: PluginHost,
    private readonly requestId: string,
    private readonly deadlineMs: number,
  ) {}

  charge(r: ChargeRequest) {
    return this.call("/charges", r, Charge);
  }
  refund(r: RefundRequest) {
    return this.call("/refunds", r, Refund);
  }
  transfer(r: TransferRequest) {
    return this.call("/transfers", r, Transfer);
  }

  private async call<T extends { id: string }>(
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
  ): Promise<Result<{ id: string }>> {
    const installationId = await processorInstallation(this.db);
    if (!installationId)
      throw new ApiError({
        status: 503,
        type: "payments-not-configured",
        title: "Payments unavailable",
        detail:
          "The platform has no payment processor yet; an operator sets one with PUT /v1/operator/payments.",
      });
    const spec = await loadSpec(this.db, this.secretKey, installationId);
    if (!spec || !spec.grants.includes("payments"))
      throw new ApiError({
        status: 503,
        type: "payments-not-configured",
        title: "Payments unavailable",
        detail: "The platform's payment processor is not installed any more.",
        internal: `processor installation ${installationId} missing or without payments grant`,
      });
    const req = pluginRequest(
      spec,
      { orgId: spec.orgId, subject: "platform:payments", requestId: this.requestId },
      path,
      {
        method: "POST",
        headers: new Headers({ "content-type": "application/json" }),
        body: JSON.stringify(body),
      },
    );
    let res: Response;
    try {
      res = (await invokePlugin(this.host, spec, req, this.deadlineMs)).response;
    } catch (err) {
      return { ok: false, reason: "unavailable", message: toApiError(err).internal ?? String(err) };
    }
    let json: unknown;
    try {
      json = JSON.parse(await res.text());
    } catch {
      return {
        ok: false,
        reason: "unavailable",
        message: `processor answered ${res.status} without JSON`,
      };
    }
    if (res.ok) {
      const parsed = schema.safeParse(json);
      return parsed.success
        ? { ok: true, value: { id: parsed.data.id } }
        : { ok: false, reason: "unavailable", message: "processor answered an unexpected body" };
    }
    const message =
      PluginFailure.safeParse(json).data?.error.replace(/^payment provider: /, "") ??
      `status ${res.status}`;
    if (res.status === 402) return { ok: false, reason: "declined", message };
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
      return { ok: false, reason: "invalid", message };
    return { ok: false, reason: "unavailable", message };
  }
}
