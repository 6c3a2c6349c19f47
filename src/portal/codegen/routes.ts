/**
 * `GET /v1/portal/sdks/{language}`: a client library generated from the OpenAPI document (or,
 * with `?plugin=@scope/name`, from a plugin's own reference), as a zip. Generated in code on
 * request, cached per isolate; no network. Also `GET /v1/marketplace/listings/{scope}/{name}/openapi.json`.
 */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { strToU8, zipSync } from "fflate";
import semver from "semver";
import type { AppEnv } from "../../platform/http/router";
import { getDb } from "../../platform/db/client";
import { isDevVersion, listVersions, findListedPlugin } from "../../catalog/queries";
import { badRequest, notFound } from "../../platform/http/problem";
import { ListingParams, problems } from "../../platform/http/schemas";
import { pluginDocument } from "./plugin-document";
import { pythonSdk } from "./python";
import { withOperationIds, type OpenApiDocument } from "./spec";
import { typescriptSdk } from "./typescript";
import { javaSdk } from "./java";
import { publicRoute } from "../../access/authenticate";

export const LANGUAGES = ["typescript", "python", "java"] as const;
type Language = (typeof LANGUAGES)[number];

const GENERATORS: Record<
  Language,
  (doc: OpenApiDocument, pkg: { name: string; baseUrl: string }) => Record<string, string>
> = { typescript: typescriptSdk, python: pythonSdk, java: javaSdk };

const cache = new Map<string, Uint8Array>();

function zip(root: string, files: Record<string, string>): Uint8Array {
  return zipSync(
    Object.fromEntries(
      Object.entries(files).map(([path, text]) => [`${root}/${path}`, strToU8(text)]),
    ),
    { level: 6, mtime: new Date("2026-01-01T00:00:00Z") },
  );
}

async function pluginDoc(env: Env, name: string): Promise<OpenApiDocument> {
  const db = getDb(env.DB);
  const p = await findListedPlugin(db, name);
  if (!p || p.kind === "template") throw notFound(`The plugin ${name}`);
  const version = (await listVersions(db, p.id))
    .filter((v) => v.status === "published" && !isDevVersion(v.version))
    .sort((a, b) => semver.rcompare(a.version, b.version))[0];
  if (!version) throw notFound(`A published version of ${name}`);
  return pluginDocument(version.manifest, env.ATOLL_ISSUER);
}

export function mountSdks(app: OpenAPIHono<AppEnv>, document: (env: Env) => OpenApiDocument): void {
  const sdk = createRoute(
    publicRoute({
      method: "get",
      path: "/v1/portal/sdks/{language}",
      tags: ["Developer portal"],
      summary:
        "Download a generated client library (zip) for the platform API, or for a plugin's API",
      description:
        "TypeScript (npm package: compiled JavaScript + .d.ts, fetch, no dependencies), Python (pyproject.toml, standard library, installs offline) or Java 17 (pom.xml, java.net.http): typed models and request bodies, one method per operation, bytes for binary bodies, API-key, bearer or OAuth client-credentials auth (none for public operations), timeouts, retries on network errors, 408, 429 and 5xx honouring Retry-After (a POST only with an Idempotency-Key), cursor pagination, an error class per kind carrying the problem document, a README with an example per operation group.",
      request: {
        params: z.object({
          language: z.enum(LANGUAGES).openapi({ param: { name: "language", in: "path" } }),
        }),
        query: z
          .object({
            plugin: z
              .string()
              .regex(
                /^@[a-z0-9-]{3,39}\/[a-z0-9][a-z0-9._-]{0,63}$/,
                "must be a listing name such as @demo/hello",
              )
              .optional(),
          })
          .strict(),
      },
      responses: {
        200: {
          description: "The SDK as a zip",
          content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } },
        },
        ...problems(400, 404, 429),
      },
    }),
  );
  app.openapi(sdk, async (c) => {
    const { language } = c.req.valid("param");
    const { plugin } = c.req.valid("query");
    const doc = plugin ? await pluginDoc(c.env, plugin) : document(c.env);
    const name = plugin ? `${plugin.replace("@", "").replace("/", "-")}-client` : "atoll-client";
    // The platform's document is fixed per deployment; a plugin's is fixed per published version.
    const cacheKey = `${language}:${plugin ?? ""}:${doc.info.version}`;
    let bytes = cache.get(cacheKey);
    if (!bytes) {
      bytes = zip(
        `${name}-${language}`,
        GENERATORS[language](withOperationIds(structuredClone(doc)), {
          name,
          baseUrl: c.env.ATOLL_ISSUER,
        }),
      );
      if (cache.size > 20) cache.clear();
      cache.set(cacheKey, bytes);
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/zip",
      "content-disposition": `attachment; filename="${name}-${language}.zip"`,
      "cache-control": "public, max-age=300",
    }) as never;
  });

  const reference = createRoute(
    publicRoute({
      method: "get",
      path: "/v1/marketplace/listings/{scope}/{name}/openapi.json",
      tags: ["Marketplace"],
      summary:
        "A plugin's own API reference (OpenAPI 3.1), generated from the routes its manifest declares",
      request: { params: ListingParams },
      responses: {
        200: {
          description: "The plugin's OpenAPI document",
          content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
        },
        ...problems(400, 404, 429),
      },
    }),
  );
  app.openapi(reference, async (c) => {
    const { scope, name } = c.req.valid("param");
    if (!scope.startsWith("@")) throw badRequest("scope must start with @");
    return c.json(
      (await pluginDoc(c.env, `${scope}/${name}`)) as unknown as Record<string, unknown>,
      200,
    );
  });
}
