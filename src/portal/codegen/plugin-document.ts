/**
 * A plugin's own API reference, generated from the routes its manifest declares: each route is an
 * operation under the installation's endpoint (`/p/{installationId}{path}`), with the platform's
 * security schemes and problem answers. SDKs for a plugin are generated from this document.
 */
import { routePathProblem, type Manifest } from "../../contract/manifest";
import { type OpenApiDocument, type JsonSchema, operationIdOf } from "./spec";

const PROBLEM: JsonSchema = {
  type: "object",
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
  },
  required: ["type", "title", "status"],
};

export function pluginDocument(
  manifest: Manifest,
  serverUrl: string,
): OpenApiDocument & Record<string, unknown> {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of manifest.routes ?? []) {
    // Versions published before the rule may hold a path that climbs out of the endpoint
    // (`/../../v1/api-keys`): never an operation of the plugin's document or SDKs.
    if (routePathProblem(route.path)) continue;
    const path = `/p/{installationId}${route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}").replace(/\*$/, "")}`;
    const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? "");
    const methods = route.method === "ANY" ? ["get", "post"] : [route.method.toLowerCase()];
    for (const method of methods) {
      paths[path] ??= {};
      (paths[path] as Record<string, unknown>)[method] = {
        operationId: operationIdOf(method, route.path),
        summary: route.summary ?? `${method.toUpperCase()} ${route.path}`,
        tags: [manifest.displayName ?? manifest.name],
        security: [{ apiKey: [] }, { bearerAuth: [] }],
        parameters: names.map((name) => ({
          name,
          in: "path",
          required: true,
          schema: { type: "string" },
          ...(name === "installationId"
            ? { description: "The installation of this plugin (ins_…)" }
            : {}),
        })),
        ...(method === "get" || method === "delete"
          ? {}
          : {
              requestBody: {
                content: {
                  "application/json": { schema: { type: "object", additionalProperties: true } },
                },
              },
            }),
        responses: {
          "200": {
            description: "The plugin's answer",
            content: {
              "application/json": { schema: { type: "object", additionalProperties: true } },
            },
          },
          "4XX": {
            description: "A problem",
            content: { "application/problem+json": { schema: PROBLEM } },
          },
          "502": { description: "The plugin failed" },
          "504": { description: "The plugin exceeded its limits or timed out" },
        },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: `${manifest.displayName ?? manifest.name} (Atoll plugin)`,
      version: manifest.version,
      description: manifest.description,
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      schemas: {},
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
        bearerAuth: { type: "http", scheme: "bearer" },
      },
    },
  } as OpenApiDocument & Record<string, unknown>;
}
