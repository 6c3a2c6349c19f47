/**
 * Publisher signing keys and the check at publish: which keys an organization holds, whether the
 * operator requires it to sign, and the verdict on a package's provenance envelope (a Result with
 * a tagged reason, mapped to a problem by `signatureProblem`).
 */
import { z } from "@hono/zod-openapi";
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import {
  platformSettings,
  publisherKeys,
  type OrganizationRow,
  type PluginVersionRow,
  type PublisherKeyRow,
} from "../platform/db/schema";
import { fromBase64Url } from "../platform/crypto/encoding";
import { ApiError } from "../platform/http/problem";
import {
  parseEnvelope,
  signatureVerifies,
  statementMismatch,
  type PublishFacts,
} from "../contract/provenance";
import { err, ok, type Result } from "../contract/result";

/** The platform setting listing the plans whose publishers must sign (JSON array). */
export const SIGNATURE_PLANS_SETTING = "signatures.required_plans";

/** The keys an organization may register (revoked ones count): each one is in every check. */
export const MAX_PUBLISHER_KEYS = 100;

export function listPublisherKeys(db: Db, orgId: string): Promise<PublisherKeyRow[]> {
  return db
    .select()
    .from(publisherKeys)
    .where(eq(publisherKeys.orgId, orgId))
    .orderBy(publisherKeys.createdAt)
    .limit(MAX_PUBLISHER_KEYS);
}

/** The plans the operator requires signatures of. */
export async function signaturePlans(db: Db): Promise<string[]> {
  const [row] = await db
    .select({ value: platformSettings.value })
    .from(platformSettings)
    .where(eq(platformSettings.key, SIGNATURE_PLANS_SETTING))
    .limit(1);
  if (!row) return [];
  try {
    const v = JSON.parse(row.value) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** Whether this publisher must sign: the operator said so for it or for its plan. */
export async function signaturesRequired(
  db: Db,
  org: Pick<OrganizationRow, "requireSignatures" | "plan">,
): Promise<boolean> {
  return org.requireSignatures || (await signaturePlans(db)).includes(org.plan);
}

export type SignatureRefusal =
  | { reason: "malformed"; detail: string }
  | { reason: "unknown-key"; keyid: string }
  | { reason: "revoked-key"; keyid: string }
  | { reason: "bad-signature"; keyid: string }
  | { reason: "statement-mismatch"; detail: string };

export type SignatureVerdict = Result<
  { key: PublisherKeyRow; sourceDigest: string; cliVersion: string; provenance: string },
  SignatureRefusal
>;

/**
 * The verdict on `header` for a package with `facts`, against the keys of the publishing
 * organization only (a key another organization registered is unknown here).
 */
export async function verifyProvenance(
  header: string,
  facts: Pick<PublishFacts, "plugin" | "version" | "sha256" | "manifestDigest">,
  keys: PublisherKeyRow[],
): Promise<SignatureVerdict> {
  const parsed = parseEnvelope(header);
  if (!parsed.ok) return parsed;
  const keyid = parsed.envelope.signatures[0]?.keyid ?? "";
  const key = keys.find((k) => k.fingerprint === keyid);
  if (!key) return err({ reason: "unknown-key", keyid });
  if (key.revokedAt !== null) return err({ reason: "revoked-key", keyid });
  if (!(await signatureVerifies(parsed.envelope, parsed.payload, fromBase64Url(key.publicKey))))
    return err({ reason: "bad-signature", keyid });
  const mismatch = statementMismatch(parsed.statement, facts);
  if (mismatch) return err({ reason: "statement-mismatch", detail: mismatch });
  return ok({
    key,
    sourceDigest: parsed.statement.predicate.source.sha256,
    cliVersion: parsed.statement.predicate.builder.version,
    // Stored with the key that verified it: the runtime re-verifies it before it runs the bytes.
    provenance: JSON.stringify({ envelope: parsed.envelope, publicKey: key.publicKey }),
  });
}

/** The problem for each refusal (exhaustive). */
export function signatureProblem(r: SignatureRefusal): ApiError {
  switch (r.reason) {
    case "malformed":
      return problem(
        400,
        "signature-malformed",
        `The provenance envelope is invalid: ${r.detail}.`,
      );
    case "unknown-key":
      return problem(
        400,
        "signature-unknown-key",
        `The package is signed with key ${r.keyid}, which is not registered to your organization.`,
      );
    case "revoked-key":
      return problem(
        403,
        "signature-key-revoked",
        `The package is signed with key ${r.keyid}, which your organization revoked.`,
      );
    case "bad-signature":
      return problem(
        400,
        "signature-invalid",
        `The signature does not verify with key ${r.keyid}: the statement was not signed by it, or was changed.`,
      );
    case "statement-mismatch":
      return problem(
        400,
        "signature-statement-mismatch",
        `The signed statement is not about this package: ${r.detail}.`,
      );
  }
}

const problem = (status: 400 | 403, type: string, detail: string) =>
  new ApiError({ status, type, title: "Package signature refused", detail });

/** A key of `orgId` by id (revoked or not). */
export async function findPublisherKey(
  db: Db,
  orgId: string,
  id: string,
): Promise<PublisherKeyRow | null> {
  const [row] = await db
    .select()
    .from(publisherKeys)
    .where(and(eq(publisherKeys.orgId, orgId), eq(publisherKeys.id, id)))
    .limit(1);
  return row ?? null;
}

/** The statement that revokes a key, guarded on it being live. */
export function revokeKeyStatement(db: Db, id: string, actor: string, now: number) {
  return db
    .update(publisherKeys)
    .set({ revokedAt: now, revokedBy: actor })
    .where(and(eq(publisherKeys.id, id), isNull(publisherKeys.revokedAt)));
}

/** Who signed a version, as the API and the listing page show it. */
export const VersionSignature = z
  .object({
    keyId: z.string(),
    keyName: z.string(),
    fingerprint: z.string(),
    sourceDigest: z
      .string()
      .openapi({ description: "SHA-256 of the source tree it was built from" }),
    cliVersion: z.string(),
    keyRevoked: z
      .boolean()
      .openapi({ description: "The signing key was revoked since: the version is flagged" }),
  })
  .openapi("VersionSignature");
export type VersionSignature = z.infer<typeof VersionSignature>;

export function signatureOf(v: {
  signerKeyId: string | null;
  sourceDigest: string | null;
  cliVersion: string | null;
  key: PublisherKeyRow | undefined;
}): VersionSignature | null {
  if (!v.signerKeyId || !v.key) return null;
  return {
    keyId: v.key.id,
    keyName: v.key.name,
    fingerprint: v.key.fingerprint,
    sourceDigest: v.sourceDigest ?? "",
    cliVersion: v.cliVersion ?? "",
    keyRevoked: v.key.revokedAt !== null,
  };
}

/** The signature of each version (by version id), with its key looked up once. */
export async function signaturesOf(
  db: Db,
  versions: Pick<PluginVersionRow, "id" | "signerKeyId" | "sourceDigest" | "cliVersion">[],
): Promise<Map<string, VersionSignature | null>> {
  const ids = [...new Set(versions.map((v) => v.signerKeyId).filter((x): x is string => !!x))];
  const keys = ids.length
    ? await db.select().from(publisherKeys).where(inArray(publisherKeys.id, ids))
    : [];
  const byId = new Map(keys.map((k) => [k.id, k]));
  return new Map(
    versions.map((v) => [
      v.id,
      signatureOf({ ...v, key: v.signerKeyId ? byId.get(v.signerKeyId) : undefined }),
    ]),
  );
}
