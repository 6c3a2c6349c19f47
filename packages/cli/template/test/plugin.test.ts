// The plugin's first tests: `npm test` runs them on the same standalone server as `atoll dev`
// (the platform's runtime on workerd, on this machine), with fresh storage every run.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startDevServer, type DevServer } from "@atoll/cli/testing";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer(".", { fresh: true });
}, 60_000);

afterAll(() => server?.stop());

it("greets by name", async () => {
  const res = await fetch(`${server.url}/hello/Ada`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ message: "Hello, Ada!" });
});

it("counts visits in its storage", async () => {
  const visit = async () =>
    ((await (await fetch(`${server.url}/visits`, { method: "POST" })).json()) as { visits: number })
      .visits;
  expect([await visit(), await visit()]).toEqual([1, 2]);
});

it("answers execute", async () => {
  const r = await server.lifecycle("execute", { input: { name: "Ada" } });
  expect(r.body).toEqual({ output: { message: "Hello, Ada!" } });
});

it("logs each visit, as atoll logs shows", async () => {
  await fetch(`${server.url}/visits`, { method: "POST" });
  // The trace arrives just after the response.
  await expect
    .poll(async () => (await server.logs(0)).logs.map((l) => l.message))
    .toContain("visit 3");
});
