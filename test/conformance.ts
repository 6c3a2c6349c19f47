/**
 * The conformance suite every plugin in plugins/ passes, on every backend: it builds (global
 * setup, with the CLI's build), publishes, installs with exactly its declared grants, initializes,
 * executes, serves its routes (answers matching the schemas they declare), and uninstalls
 * cleanly. The target publishes and calls the platform running the backend under test; a
 * difference between backends shows as a failing test.
 */
import { describe, expect, it, type ProvidedContext } from "vitest";
import { responseErrors } from "../src/contract/route-input";
import { matchRoute } from "../src/contract/routes";

export interface PublishedBody {
  plugin: string;
  permissions: { permission: string }[];
}

export interface ConformanceTarget {
  /** Publishes the example plugin `name` under a fresh publisher; its key and the answer. */
  publish(name: string): Promise<PublishedBody & { key: string }>;
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
      const { publish, call } = target();
      const { key, plugin, permissions } = await publish(name);
      const installed = await call("/v1/installations", {
        method: "POST",
        key,
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
          key,
          json: { input: fixture.conformance.execute.input },
        });
        expect(res.status, await res.clone().text()).toBe(200);
        const body = (await res.json()) as { output: unknown };
        expect(body).toHaveProperty("output");
        if (fixture.conformance.execute.output !== undefined)
          expect(body.output).toEqual(fixture.conformance.execute.output);
      }
      if (fixture.conformance.get) {
        const res = await call(`${inst.endpoint}${fixture.conformance.get.path}`, { key });
        expect(res.status).toBe(fixture.conformance.get.status);
        // The answer matches the schema its route declares for the status (as atoll test checks).
        const match = matchRoute(fixture.manifest.routes, "GET", fixture.conformance.get.path);
        if (match.ok && match.route && res.headers.get("content-type")?.includes("json")) {
          if (res.status === 200) expect(match.route.responses?.["200"]).toBeDefined();
          expect(responseErrors(match.route, res.status, await res.json())).toEqual([]);
        }
      }
      expect((await call(`/v1/installations/${inst.id}`, { method: "DELETE", key })).status).toBe(
        204,
      );
      expect((await call(`${inst.endpoint}/`, { key })).status).toBe(404);
    });
  });
}
