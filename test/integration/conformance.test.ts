/**
 * The conformance suite (test/conformance.ts) against the `loader` backend, and the payment
 * gateway against the Stripe stand-in. The same suite runs against the dispatch path
 * (conformance-dispatch.test.ts) and the `service` backend (test/e2e/conformance-service.test.ts).
 */
import { describe, expect, inject, it } from "vitest";
import { conformanceSuite } from "../conformance";
import { call } from "../helpers";
import { examplePackage, publishAndInstall, publishExample, publisher } from "../plugin-helpers";

conformanceSuite("loader", inject("plugins"), () => ({ publish: publishExample, call }));

describe("payment-gateway against the Stripe stand-in", () => {
  async function setup() {
    const a = await publisher("pay");
    const inst = await publishAndInstall(a, examplePackage("payment-gateway", a.slug), {
      secrets: { PAYMENT_API_KEY: "sk_test_demo_123" },
    });
    const charge = (input: Record<string, unknown>) =>
      call(`/v1/installations/${inst.id}/execute`, {
        method: "POST",
        key: a.apiKey,
        json: { input },
      });
    return { a, inst, charge };
  }

  it("charges once per idempotency key, with the installation's secret", async () => {
    const { a, inst, charge } = await setup();
    const input = {
      amount: 2500,
      currency: "usd",
      source: "tok_visa",
      idempotencyKey: "order-42-attempt",
    };
    const first = (await (await charge(input)).json()) as {
      output: { id: string; amount: number; status: string };
    };
    expect(first.output).toMatchObject({ amount: 2500, status: "succeeded" });
    const retry = (await (await charge(input)).json()) as { output: { id: string } };
    expect(retry.output.id).toBe(first.output.id);
    const fetched = await call(`${inst.endpoint}/charges/${first.output.id}`, { key: a.apiKey });
    expect(await fetched.json()).toMatchObject({ id: first.output.id, object: "charge" });
  });

  it.each([
    ["no idempotency key", { amount: 2500, currency: "usd", source: "tok_visa" }, /idempotencyKey/],
    [
      "a float amount",
      { amount: 25.5, currency: "usd", source: "tok_visa", idempotencyKey: "k-12345678" },
      /integer/,
    ],
    [
      "a declined card",
      {
        amount: 2500,
        currency: "usd",
        source: "tok_chargeDeclined",
        idempotencyKey: "k-declined-1",
      },
      /declined/,
    ],
  ])("refuses %s as the caller's error (422)", async (_label, input, message) => {
    const { charge } = await setup();
    const res = await charge(input);
    expect(res.status).toBe(422);
    expect(((await res.json()) as { detail: string }).detail).toMatch(message);
  });
});
