/**
 * The conformance suite every plugin in plugins/ passes, on every backend: it builds (global
 * setup, with the CLI's build), publishes, installs with exactly its declared grants, initializes,
 * executes, serves its routes, and uninstalls cleanly. `target().call` reaches the platform
 * running the backend under test; a difference between backends shows as a failing test.
 */
import { describe, expect, it } from "vitest";
import type { ProvidedContext } from "vitest";
import { examplePackage, publishZip, publisher } from "./plugin-helpers";

export interface ConformanceTarget {
  call(path: string, init?: { method?: string; key?: string; json?: unknown }): Promise<Response>;
}

export function conformanceSuite(
  backend: string,
  plugins: ProvidedContext["plugins"],
  target: () => ConformanceTarget,
): void {
  describe.each(Object.keys(plugins))(`plugin %s (${backend} backend)`, (name) => {
    const fixture = plugins[name] as (typeof plugins)[string];

    it("declares only permissions the platform allows and a supported API version", () => {
      expect(fixture.manifest.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(Array.isArray(fixture.manifest.permissions)).toBe(true);
    });

    it("publishes, installs, executes, serves its routes and uninstalls", async () => {
      const { call } = target();
      const a = await publisher("c");
      const pub = await publishZip(a, examplePackage(name, a.slug));
      expect(pub.status).toBe(201);
      const { plugin, permissions } = (await pub.json()) as {
        plugin: string;
        permissions: { permission: string }[];
      };
      const installed = await call("/v1/installations", {
        method: "POST",
        key: a.apiKey,
        json: {
          plugin,
          grants: permissions.map((p) => p.permission),
          config: fixture.conformance.config,
          secrets: fixture.conformance.secrets,
        },
      });
      expect(installed.status, await installed.clone().text()).toBe(201);
      const inst = (await installed.json()) as { id: string; endpoint: string };
      if (fixture.conformance.execute) {
        const res = await call(`/v1/installations/${inst.id}/execute`, {
          method: "POST",
          key: a.apiKey,
          json: { input: fixture.conformance.execute.input },
        });
        expect(res.status, await res.clone().text()).toBe(200);
        const body = (await res.json()) as { output: unknown };
        expect(body).toHaveProperty("output");
        if (fixture.conformance.execute.output !== undefined)
          expect(body.output).toEqual(fixture.conformance.execute.output);
      }
      if (fixture.conformance.get) {
        const res = await call(`${inst.endpoint}${fixture.conformance.get.path}`, {
          key: a.apiKey,
        });
        expect(res.status).toBe(fixture.conformance.get.status);
      }
      expect(
        (await call(`/v1/installations/${inst.id}`, { method: "DELETE", key: a.apiKey })).status,
      ).toBe(204);
      expect((await call(`${inst.endpoint}/`, { key: a.apiKey })).status).toBe(404);
    });
  });
}
