/**
 * Idempotency keys for money-moving endpoints, with Stripe's semantics:
 * - the first request with a key runs and its response is stored (errors too, when they are the
 *   caller's: 4xx);
 * - the same key and the same body replay the stored response (`Idempotent-Replayed: true`);
 * - the same key with another body or endpoint is 422;
 * - a duplicate arriving while the first still runs is 409 (retry after a second);
 * - a 5xx (the provider timed out, the response was lost) is not stored: the key is released so
 *   the retry runs again, and because every provider call carries an idempotency key derived
 *   from this one, the retry finds the charge that already happened instead of making another.
 * The lock is a row insert guarded by the primary key, not a read-then-write.
 */
import { and, eq, lt } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import type { AppEnv } from "../platform/http/router";
import { sha256Hex } from "../platform/crypto/hash";
import type { Db } from "../platform/db/client";
import { idempotencyKeys } from "../platform/db/schema";
import {
  ApiError,
  PROBLEM_CONTENT_TYPE,
  problemResponse,
  toApiError,
} from "../platform/http/problem";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** A run that holds a key longer than this is presumed dead; its key can be taken over. */
export const LOCK_MS = 60_000;
/** Keys are kept this long (Stripe: 24 hours), then pruned. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY = /^[!-~]{1,255}$/;

/**
 * The `Idempotency-Key` header of the money-moving POSTs, as the document shows it: required,
 * 1–255 printable ASCII characters. The handler checks it (`idempotencyKeyOf`) after it has
 * checked who is asking, so a stranger learns nothing about a purchase from a missing key.
 */
export const IdempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .optional()
    .openapi({
      param: { required: true },
      pattern: KEY.source,
      description:
        "Required: 1–255 printable ASCII characters (a UUID is a good key); a missing key is a 400 `idempotency-key-required`, a malformed one `idempotency-key-invalid`. The same key and body replay the first response (`Idempotent-Replayed: true`); the same key with another body is 422; while the first request still runs, 409.",
      example: "00000000-0000-4000-8000-000000000000",
    }),
});

/** JSON with sorted keys: the same body always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Reads and checks the Idempotency-Key header (required on every money-moving call). */
export function idempotencyKeyOf(c: Context<AppEnv>): string {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  if (key === undefined || key === "") {
    throw new ApiError({
      status: 400,
      type: "idempotency-key-required",
      title: "Idempotency key required",
      detail: `Money-moving requests need an ${IDEMPOTENCY_HEADER} header (1–255 printable characters, e.g. a UUID); a retry with the same key never charges twice.`,
    });
  }
  if (!KEY.test(key))
    throw new ApiError({
      status: 400,
      type: "idempotency-key-invalid",
      title: "Bad request",
      detail: `${IDEMPOTENCY_HEADER} must be 1–255 printable ASCII characters without spaces.`,
    });
  return key;
}

export type Outcome = { status: 200 | 201; body: unknown };

/**
 * Runs `work` at most once per (owner, key). `work` gets the key to derive provider idempotency
 * keys from. Returns the response to send (fresh or replayed).
 */
export async function idempotent(
  c: Context<AppEnv>,
  db: Db,
  owner: string,
  body: unknown,
  work: (key: string) => Promise<Outcome>,
): Promise<Response> {
  const key = idempotencyKeyOf(c);
  const endpoint = `${c.req.method} ${c.req.path}`;
  const requestHash = await sha256Hex(`${endpoint}\n${canonicalJson(body)}`);
  const now = Date.now();
  const claimed = await claim(db, { owner, key, endpoint, requestHash, now });
  if (claimed !== "claimed") return claimed;

  let outcome: { status: number; body: string; contentType: string };
  try {
    const r = await work(key);
    outcome = { status: r.status, body: JSON.stringify(r.body), contentType: "application/json" };
  } catch (err) {
    const e = toApiError(err);
    if (e.status >= 500 || e.status === 409 || e.status === 429) {
      // Not the caller's fault, or worth retrying: release the key so a retry runs again.
      await db
        .delete(idempotencyKeys)
        .where(and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key)));
      throw e;
    }
    const res = problemResponse(e, c.get("requestId"), c.req.path);
    outcome = { status: e.status, body: await res.text(), contentType: PROBLEM_CONTENT_TYPE };
  }
  await db
    .update(idempotencyKeys)
    .set({ status: "done", responseStatus: outcome.status, responseBody: outcome.body })
    .where(and(eq(idempotencyKeys.owner, owner), eq(idempotencyKeys.key, key)));
  return new Response(outcome.body, {
    status: outcome.status,
    headers: { "content-type": outcome.contentType, "x-request-id": c.get("requestId") },
  });
}

/** Takes the key, or answers with the stored response or the right refusal. */
async function claim(
  db: Db,
  k: { owner: string; key: string; endpoint: string; requestHash: string; now: number },
): Promise<"claimed" | Response> {
  const inserted = await db
    .insert(idempotencyKeys)
    .values({
      owner: k.owner,
      key: k.key,
      endpoint: k.endpoint,
      requestHash: k.requestHash,
      status: "in_progress",
      lockedAt: k.now,
      createdAt: k.now,
    })
    .onConflictDoNothing()
    .run();
  if (inserted.meta.changes === 1) return "claimed";

  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.owner, k.owner), eq(idempotencyKeys.key, k.key)));
  if (!row) return claim(db, k); // released between our insert and read: try once more
  if (row.endpoint !== k.endpoint || row.requestHash !== k.requestHash) {
    throw new ApiError({
      status: 422,
      type: "idempotency-key-reused",
      title: "Idempotency key reused",
      detail: `This ${IDEMPOTENCY_HEADER} was first used with ${row.endpoint === k.endpoint ? "a different request body" : `another endpoint (${row.endpoint})`}; use a new key for a new request.`,
    });
  }
  if (row.status === "done") {
    const contentType =
      (row.responseStatus ?? 200) >= 400 ? PROBLEM_CONTENT_TYPE : "application/json";
    return new Response(row.responseBody, {
      status: row.responseStatus ?? 200,
      headers: { "content-type": contentType, "idempotent-replayed": "true" },
    });
  }
  if (k.now - row.lockedAt > LOCK_MS) {
    const taken = await db
      .update(idempotencyKeys)
      .set({ lockedAt: k.now })
      .where(
        and(
          eq(idempotencyKeys.owner, k.owner),
          eq(idempotencyKeys.key, k.key),
          eq(idempotencyKeys.status, "in_progress"),
          eq(idempotencyKeys.lockedAt, row.lockedAt),
        ),
      )
      .run();
    if (taken.meta.changes === 1) return "claimed";
  }
  throw new ApiError({
    status: 409,
    type: "idempotency-key-in-use",
    title: "Request in progress",
    detail: `A request with this ${IDEMPOTENCY_HEADER} is still being processed; retry shortly.`,
    headers: { "retry-after": "1" },
  });
}

/** Deletes keys older than KEY_TTL_MS (the scheduled job calls it). */
export async function pruneIdempotencyKeys(db: Db, now = Date.now()): Promise<number> {
  const r = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, now - KEY_TTL_MS))
    .run();
  return r.meta.changes;
}

/**
 * `idempotent` for typed OpenAPI handlers: the response is built here (fresh or replayed), so
 * its type is opaque to the route's response typing, like any raw Response.
 */
export function idempotentResponse(
  c: Context<AppEnv>,
  db: Db,
  owner: string,
  body: unknown,
  work: (key: string) => Promise<Outcome>,
): Promise<never> {
  return idempotent(c, db, owner, body, work) as Promise<never>;
}
