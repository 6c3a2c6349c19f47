/**
 * The example plugins in plugins/ as test fixtures (Node side): each built with the CLI's own
 * build (esbuild + the manifest schema), with its manifest's facts and its conformance.json.
 * Used by the workers global setup (handed to the tests) and by the service-backend conformance.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProvidedContext } from "vitest";
import { buildPlugin } from "../packages/cli/src/build";

export type PluginFixture = ProvidedContext["plugins"][string];

export const examplePluginNames = (root: string): string[] =>
  readdirSync(join(root, "plugins"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);

export async function buildPluginFixture(root: string, name: string): Promise<PluginFixture> {
  const dir = join(root, "plugins", name);
  const built = await buildPlugin(dir);
  return {
    zipBase64: Buffer.from(built.bytes).toString("base64"),
    manifest: {
      name: built.manifest.name,
      version: built.manifest.version,
      permissions: built.manifest.permissions,
      routes: built.manifest.routes ?? [],
    },
    conformance: JSON.parse(
      readFileSync(join(dir, "conformance.json"), "utf8"),
    ) as PluginFixture["conformance"],
  };
}
