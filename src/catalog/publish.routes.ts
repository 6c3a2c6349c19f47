/** Publishing packages (the minimal path; the marketplace adds review and search) and the manifest schema. */
import { createRoute, z } from "@hono/zod-openapi";
import { eq, and, ne } from "drizzle-orm";
import semver from "semver";
import { actorOf, auditInsert } from "../access/audit";
import { requireScope } from "../access/principal";
import { createRouter } from "../platform/http/router";
import { newId } from "../platform/crypto/encoding";
import { getDb, isUniqueViolation, type Batch } from "../platform/db/client";
import { pluginVersions, plugins } from "../platform/db/schema";
import { ApiError, badRequest, conflict, forbidden, notFound } from "../platform/http/problem";
import { AUTHENTICATED, ListingParams, problems, iso } from "../platform/http/schemas";
import { readCapped } from "../platform/http/body";
import { getOrganization } from "../access/queries";
import { findPluginByName, isDevVersion, listVersions, refreshListingStatements } from "./queries";
import { PACKAGE_LIMITS, readPackage } from "../contract/package";
import { checkModules } from "./modules";
import { describePermission } from "../contract/permissions";
import { manifestJsonSchema, splitName, type Manifest } from "../contract/manifest";
import { packageKey, sha256OfBytes } from "../runtime/packages";
import { displaySkeleton, nameSkeleton } from "./listing";
import { emitPlatformEvent } from "../events/emit";
import { versionPayload } from "../events/topics";
import { MAX_ENVELOPE_BYTES, PROVENANCE_HEADER, manifestDigest } from "../contract/provenance";
import {
  listPublisherKeys,
  signatureProblem,
  signaturesRequired,
  verifyProvenance,
  signatureOf,
  signaturesOf,
  VersionSignature,
  type SignatureVerdict,
} from "./signing";

export const publishRoutes = createRouter();

const tooLarge = () =>
  new ApiError({
    status: 413,
    type: "package-too-large",
    title: "Package too large",
    detail: `Packages are at most ${PACKAGE_LIMITS.maxPackageBytes} bytes.`,
  });

export const PublishedVersion = z
  .object({
    plugin: z.string().openapi({ example: "@example/hello" }),
    version: z.string().openapi({ example: "1.0.0" }),
    kind: z.enum(["plugin", "app", "template"]),
    sha256: z.string(),
    size: z.number().int(),
    permissions: z.array(z.object({ permission: z.string(), allows: z.string() })),
    status: z
      .enum(["draft", "in_review", "published", "rejected", "suspended", "yanked", "revoked"])
      .optional(),
    signature: VersionSignature.nullable().optional(),
    createdAt: z.string().datetime(),
  })
  .openapi("PublishedVersion");

const publish = createRoute({
  method: "post",
  path: "/v1/packages",
  tags: ["Plugins"],
  summary: "Publish a plugin package (a zip with manifest.json at its root)",
  description: `Body: the zip, Content-Type application/zip, at most ${PACKAGE_LIMITS.maxPackageBytes} bytes. The name's scope must be the caller's organization; the version must be new and greater than every published one.`,
  security: AUTHENTICATED,
  request: {
    headers: z.object({
      [PROVENANCE_HEADER]: z.string().max(MAX_ENVELOPE_BYTES).optional().openapi({
        description:
          "The publisher's signature: base64 of a DSSE envelope (payload type application/vnd.in-toto+json) holding an in-toto Statement v1 about the package, signed with a key registered at /v1/organizations/{orgId}/signing-keys. Required when the operator requires signatures of the publisher or its plan.",
      }),
    }),
    body: {
      required: true,
      content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
  responses: {
    201: {
      description: "Published",
      content: { "application/json": { schema: PublishedVersion } },
    },
    ...problems(400, 401, 403, 409, 413, 415, 429),
  },
});

publishRoutes.openapi(publish, async (c) => {
  const p = requireScope(c, "plugins:publish");
  if (!p.orgId) throw forbidden("Only an organization publishes plugins.");
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(zip|x-zip-compressed|octet-stream)\s*(;|$)/i.test(type)) {
    throw new ApiError({
      status: 415,
      type: "unsupported-media-type",
      title: "Unsupported media type",
      detail: "Send the package as application/zip.",
    });
  }
  if (Number(c.req.header("content-length") ?? "0") > PACKAGE_LIMITS.maxPackageBytes)
    throw tooLarge();
  if (!c.req.raw.body) throw badRequest("The request has no body.");
  const bytes = await readCapped(c.req.raw.body, PACKAGE_LIMITS.maxPackageBytes, tooLarge);
  const read = readPackage(bytes);
  if (!read.ok) {
    if (read.reason === "too-large")
      throw new ApiError({
        status: 413,
        type: "package-too-large",
        title: "Package too large",
        detail: read.detail,
      });
    throw badRequest(
      read.detail,
      `package-${read.reason}`,
      read.reason === "manifest" && read.errors ? { errors: read.errors } : undefined,
    );
  }
  const { manifest, modules, readme } = read.contents;
  const db = getDb(c.env.DB);
  const org = await getOrganization(db, p.orgId);
  const scope = splitName(manifest.name)?.scope;
  if (!org || scope !== org.slug)
    throw forbidden(
      `${manifest.name} is outside your scope: your organization publishes as @${org?.slug ?? "?"}/….`,
    );

  const existing = await findPluginByName(db, manifest.name);
  if (!existing) {
    // Automatic check at submit: a new name may not look like another listing's.
    const skeleton = nameSkeleton(manifest.name);
    const [lookalike] = await db
      .select({ name: plugins.name })
      .from(plugins)
      .where(and(eq(plugins.nameSkeleton, skeleton), ne(plugins.name, manifest.name)))
      .limit(1);
    if (lookalike)
      throw conflict(
        `${manifest.name} is too easily confused with the existing listing ${lookalike.name}; choose another name.`,
        "confusable-name",
      );
  }
  if (manifest.displayName !== undefined) {
    // A display name of the publisher's choosing may not look like another publisher's listing's
    // (a default one is derived from the listing's own package name, checked above).
    const shown = displaySkeleton(manifest.displayName);
    const [borrowed] = shown
      ? await db
          .select({ name: plugins.name, displayName: plugins.displayName })
          .from(plugins)
          .where(and(eq(plugins.displaySkeleton, shown), ne(plugins.orgId, p.orgId)))
          .limit(1)
      : [];
    if (borrowed)
      throw conflict(
        `The display name "${manifest.displayName}" is too easily confused with "${borrowed.displayName}" of the listing ${borrowed.name}, another publisher's; choose another display name.`,
        "confusable-display-name",
      );
  }
  if (existing) {
    if (existing.orgId !== p.orgId)
      throw forbidden(`${manifest.name} belongs to another organization.`);
    const versions = await listVersions(db, existing.id);
    if (versions.some((v) => v.version === manifest.version))
      throw conflict(
        `${manifest.name}@${manifest.version} is already published; versions are immutable.`,
        "version-exists",
      );
    const highest = versions.map((v) => v.version).sort(semver.rcompare)[0];
    if (highest && !semver.gt(manifest.version, highest))
      throw conflict(
        `${manifest.version} is not greater than the latest published version ${highest}.`,
        "version-not-newer",
      );
  }
  // Parsed, never run: publisher code executes only inside a plugin isolate, under its limits.
  const checked = checkModules(modules, manifest.entry);
  if (!checked.ok)
    throw badRequest(
      `The package's modules do not load: ${checked.module}: ${checked.error}`,
      "package-module-error",
    );

  const sha256 = await sha256OfBytes(bytes);
  // The publisher's signature, checked against its own organization's keys only; a version that
  // must be signed and is not never reaches storage.
  const envelope = c.req.header(PROVENANCE_HEADER);
  let signed: Extract<SignatureVerdict, { ok: true }> | null = null;
  if (envelope !== undefined) {
    const verdict = await verifyProvenance(
      envelope,
      {
        plugin: manifest.name,
        version: manifest.version,
        sha256,
        manifestDigest: await manifestDigest(manifest),
      },
      await listPublisherKeys(db, p.orgId),
    );
    if (!verdict.ok) throw signatureProblem(verdict);
    signed = verdict;
  } else if (org && (await signaturesRequired(db, org)))
    throw new ApiError({
      status: 403,
      type: "signature-required",
      title: "Package signature required",
      detail: `The platform requires ${org.slug}'s packages to be signed: publish with atoll publish --sign <key file> (a key registered at /v1/organizations/${org.id}/signing-keys).`,
    });
  // Local development may auto-approve (ATOLL_AUTO_APPROVE, on in the demo); otherwise the
  // version waits in the operator's review queue and the listing is unchanged until approved.
  // A development version (`-dev.N`) is the publisher's own: nobody else can run it, so it needs
  // no review, and it never changes the listing.
  const dev = isDevVersion(manifest.version);
  const status =
    dev || autoApprove(c.env, org?.verified ?? false)
      ? ("published" as const)
      : ("in_review" as const);
  const now = Date.now();
  const pluginId = existing?.id ?? newId("plg");
  // Content-addressed: the same bytes always land on the same key, so a retry is harmless.
  await c.env.PACKAGES.put(packageKey(sha256), bytes, {
    customMetadata: { plugin: manifest.name, version: manifest.version },
    sha256,
  });
  try {
    const statements: Batch = [
      db.insert(pluginVersions).values({
        id: newId("ver"),
        pluginId,
        version: manifest.version,
        sha256,
        size: bytes.length,
        manifest,
        readme,
        status,
        createdAt: now,
        ...(status === "published" ? { reviewedAt: now } : {}),
        ...(signed
          ? {
              provenance: signed.provenance,
              signerKeyId: signed.key.id,
              sourceDigest: signed.sourceDigest,
              cliVersion: signed.cliVersion,
            }
          : {}),
      }),
      auditInsert(
        db,
        {
          orgId: p.orgId,
          actor: actorOf(p),
          action: status === "published" ? "plugin.published" : "plugin.submitted",
          target: manifest.name,
          details: {
            version: manifest.version,
            sha256,
            ...(signed ? { signedBy: signed.key.fingerprint } : {}),
          },
          requestId: c.get("requestId"),
        },
        now,
      ),
    ];
    if (status === "published" && !dev && !existing?.suspendedAt)
      statements.push(...refreshListingStatements(db, pluginId, manifest, readme, now));
    if (!existing)
      statements.unshift(
        db.insert(plugins).values({
          id: pluginId,
          name: manifest.name,
          orgId: p.orgId,
          kind: manifest.kind,
          createdAt: now,
          updatedAt: now,
          nameSkeleton: nameSkeleton(manifest.name),
        }),
      );
    await db.batch(statements);
  } catch (err) {
    const stillUsed = await db
      .select({ id: pluginVersions.id })
      .from(pluginVersions)
      .where(eq(pluginVersions.sha256, sha256))
      .limit(1);
    if (stillUsed.length === 0) await c.env.PACKAGES.delete(packageKey(sha256));
    if (isUniqueViolation(err))
      throw conflict(
        `${manifest.name}@${manifest.version} was published concurrently.`,
        "version-exists",
      );
    throw err;
  }
  if (status === "published")
    await emitPlatformEvent(c.env, db, {
      topic: "version.published",
      orgIds: [p.orgId],
      payload: versionPayload({ plugin: manifest.name, version: manifest.version, sha256 }),
    });
  return c.json(
    {
      ...publishedVersion(manifest, sha256, bytes.length, now),
      status,
      signature: signed
        ? signatureOf({
            signerKeyId: signed.key.id,
            sourceDigest: signed.sourceDigest,
            cliVersion: signed.cliVersion,
            key: signed.key,
          })
        : null,
    },
    201,
  );
});

/**
 * Whether a new version is published without review: ATOLL_AUTO_APPROVE "true" (local
 * development: everyone), "verified" (publishers the operator verified), anything else: no one.
 */
export function autoApprove(env: Env, publisherVerified: boolean): boolean {
  return (
    env.ATOLL_AUTO_APPROVE === "true" ||
    (env.ATOLL_AUTO_APPROVE === "verified" && publisherVerified)
  );
}

export function publishedVersion(
  manifest: Manifest,
  sha256: string,
  size: number,
  createdAt: number,
) {
  return {
    plugin: manifest.name,
    version: manifest.version,
    kind: manifest.kind,
    sha256,
    size,
    permissions: manifest.permissions.map((permission) => ({
      permission,
      allows: describePermission(permission),
    })),
    createdAt: iso(createdAt),
  };
}

const Versions = z
  .object({
    name: z.string(),
    kind: z.string(),
    versions: z.array(
      z.object({
        version: z.string(),
        sha256: z.string(),
        size: z.number().int(),
        status: z.string(),
        reviewNote: z.string().nullable(),
        signature: VersionSignature.nullable(),
        createdAt: z.string().datetime(),
      }),
    ),
  })
  .openapi("PluginVersions");

export const getPlugin = createRoute({
  method: "get",
  path: "/v1/plugins/{scope}/{name}",
  tags: ["Plugins"],
  summary: "A published plugin and its versions",
  security: AUTHENTICATED,
  request: { params: ListingParams },
  responses: {
    200: { description: "The plugin", content: { "application/json": { schema: Versions } } },
    ...problems(400, 401, 404, 429),
  },
});

publishRoutes.openapi(getPlugin, async (c) => {
  requireScope(c, "installations:read");
  const { scope, name } = c.req.valid("param");
  const db = getDb(c.env.DB);
  const plugin = await findPluginByName(db, `${scope}/${name}`);
  if (!plugin) throw notFound(`${scope}/${name}`);
  // Drafts, versions in review and review notes are the publisher's business only.
  const p = c.get("principal");
  const own = p?.role === "operator" || p?.orgId === plugin.orgId;
  const versions = (await listVersions(db, plugin.id))
    .filter((v) => own || (v.status === "published" && !isDevVersion(v.version)))
    .map((v) => (own ? v : { ...v, reviewNote: null }));
  if (versions.length === 0) throw notFound(`${scope}/${name}`);
  const signatures = await signaturesOf(db, versions);
  return c.json(
    {
      name: plugin.name,
      kind: plugin.kind,
      versions: versions.map((v) => ({
        version: v.version,
        sha256: v.sha256,
        size: v.size,
        status: v.status,
        reviewNote: v.reviewNote,
        signature: signatures.get(v.id) ?? null,
        createdAt: iso(v.createdAt),
      })),
    },
    200,
  );
});

const schemaRoute = createRoute({
  method: "get",
  path: "/schemas/manifest.json",
  security: [], // public: no credential
  tags: ["Plugins"],
  summary: "The plugin manifest as JSON Schema",
  responses: {
    200: {
      description: "JSON Schema (draft 2020-12)",
      content: {
        "application/json": { schema: z.record(z.string(), z.unknown()).openapi("ManifestSchema") },
      },
    },
  },
});

publishRoutes.openapi(schemaRoute, (c) => {
  c.header("cache-control", "public, max-age=300");
  return c.json(manifestJsonSchema() as Record<string, never>, 200);
});
