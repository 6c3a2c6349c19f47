/** Helpers for tests that need an organization allowed to rate a listing (installed, used, a day old). */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call, type Account } from "./helpers";
import { publisher } from "./plugin-helpers";

/** The organization installs the listing (granting storage); returns the installation. */
export async function install(a: Account, name: string): Promise<{ id: string; endpoint: string }> {
  const inst = await call("/v1/installations", {
    method: "POST",
    key: a.apiKey,
    json: { plugin: name, grants: ["storage"] },
  });
  expect(inst.status).toBe(201);
  return (await inst.json()) as { id: string; endpoint: string };
}

const callsOf = async (id: string) =>
  (
    await env.DB.prepare(
      "SELECT COALESCE(SUM(calls), 0) AS n FROM usage_rollups WHERE installation_id = ? AND granularity = 'day'",
    )
      .bind(id)
      .first<{ n: number }>()
  )?.n ?? 0;

/** Real calls through the hello plugin's route, then waits for the meter to write them. */
export async function use(
  a: Account,
  inst: { id: string; endpoint: string },
  calls: number,
): Promise<void> {
  const before = await callsOf(inst.id);
  for (let i = 0; i < calls; i++)
    expect((await call(`${inst.endpoint}/hello/r${i}`, { key: a.apiKey })).status).toBe(200);
  for (let i = 0; i < 60; i++) {
    if ((await callsOf(inst.id)) >= before + calls) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the meter did not write the calls");
}

/** A day passes (the installation's creation moves 25 hours back: tests cannot wait a day). */
export async function aDayLater(inst: { id: string }): Promise<void> {
  await env.DB.prepare("UPDATE installations SET created_at = created_at - ? WHERE id = ?")
    .bind(25 * 3_600_000, inst.id)
    .run();
}

/** An organization that has used the (hello) listing long and often enough to rate it. */
export async function eligibleUser(name: string, prefix = "usr"): Promise<Account> {
  const user = await publisher(prefix);
  const inst = await install(user, name);
  await use(user, inst, 3);
  await aDayLater(inst);
  return user;
}
