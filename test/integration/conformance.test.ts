/**
 * The conformance suite every plugin in plugins/ passes: it builds (global setup, with the CLI's
 * build), publishes, installs with exactly its declared grants, initializes, executes, serves its
 * routes, and uninstalls cleanly.
 */
import { describe, expect, inject, it } from "vitest";
import { matchRoute } from "../../src/contract/routes";
import { responseErrors } from "../../src/contract/route-input";
import { call } from "../helpers";
import { examplePackage, publishAndInstall, publisher } from "../plugin-helpers";

const plugins = inject("plugins");

describe.each(Object.keys(plugins))("plugin %s", (name) => {
  const fixture = plugins[name] as (typeof plugins)[string];

  it("declares only permissions the platform allows and a supported API version", () => {
    expect(fixture.manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Array.isArray(fixture.manifest.permissions)).toBe(true);
  });

  it("publishes, installs, executes, serves its routes and uninstalls", async () => {
    const a = await publisher("c");
    const inst = await publishAndInstall(a, examplePackage(name, a.slug), {
      config: fixture.conformance.config,
      secrets: fixture.conformance.secrets,
    });
    if (fixture.conformance.execute) {
      const res = await call(`/v1/installations/${inst.id}/execute`, {
        method: "POST",
        key: a.apiKey,
        json: { input: fixture.conformance.execute.input },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { output: unknown };
      expect(body).toHaveProperty("output");
      if (fixture.conformance.execute.output !== undefined)
        expect(body.output).toEqual(fixture.conformance.execute.output);
    }
    if (fixture.conformance.get) {
      const res = await call(`${inst.endpoint}${fixture.conformance.get.path}`, { key: a.apiKey });
      expect(res.status).toBe(fixture.conformance.get.status);
      // The answer matches the schema its route declares for the status (as atoll test checks).
      const match = matchRoute(fixture.manifest.routes, "GET", fixture.conformance.get.path);
      if (match.ok && match.route && res.headers.get("content-type")?.includes("json")) {
        if (res.status === 200) expect(match.route.responses?.["200"]).toBeDefined();
        expect(responseErrors(match.route, res.status, await res.json())).toEqual([]);
      }
    }
    expect(
      (await call(`/v1/installations/${inst.id}`, { method: "DELETE", key: a.apiKey })).status,
    ).toBe(204);
    expect((await call(`${inst.endpoint}/`, { key: a.apiKey })).status).toBe(404);
  });
});

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
