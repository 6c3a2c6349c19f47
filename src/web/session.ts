/**
 * Web sessions: signing in with an API key creates a session whose random id goes in an
 * HttpOnly, Secure, SameSite=Lax cookie; D1 keeps only the id's SHA-256, the key sealed with
 * AES-GCM, and a CSRF token every state-changing form must carry (compared in constant time).
 */
import { and, eq, gt, lt } from "drizzle-orm";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../platform/http/router";
import { decryptString, encryptString } from "../platform/crypto/aead";
import { randomBase62 } from "../platform/crypto/encoding";
import { secretsEqual, sha256Hex } from "../platform/crypto/hash";
import { getDb } from "../platform/db/client";
import { webSessions } from "../platform/db/schema";

export const COOKIE = "atoll_session";
export const SESSION_MS = 8 * 3_600_000;

export interface Session {
  apiKey: string;
  csrf: string;
}

export async function createSession(c: Context<AppEnv>, apiKey: string): Promise<Session> {
  const id = randomBase62(40);
  const idHash = await sha256Hex(id);
  const csrf = randomBase62(32);
  const now = Date.now();
  const db = getDb(c.env.DB);
  await db.batch([
    db.insert(webSessions).values({
      idHash,
      keyEnc: await encryptString(c.env.ATOLL_SECRET_KEY, apiKey, `web-session:${idHash}`),
      csrf,
      createdAt: now,
      expiresAt: now + SESSION_MS,
    }),
    db.delete(webSessions).where(lt(webSessions.expiresAt, now)),
  ]);
  setCookie(c, COOKIE, id, {
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    path: "/",
    maxAge: SESSION_MS / 1000,
  });
  return { apiKey, csrf };
}

export async function readSession(c: Context<AppEnv>): Promise<Session | null> {
  const id = getCookie(c, COOKIE);
  if (!id || !/^[0-9A-Za-z]{40}$/.test(id)) return null;
  const idHash = await sha256Hex(id);
  const [row] = await getDb(c.env.DB)
    .select()
    .from(webSessions)
    .where(and(eq(webSessions.idHash, idHash), gt(webSessions.expiresAt, Date.now())));
  if (!row) return null;
  try {
    return {
      apiKey: await decryptString(c.env.ATOLL_SECRET_KEY, row.keyEnc, `web-session:${idHash}`),
      csrf: row.csrf,
    };
  } catch {
    return null;
  }
}

export async function endSession(c: Context<AppEnv>): Promise<void> {
  const id = getCookie(c, COOKIE);
  if (id)
    await getDb(c.env.DB)
      .delete(webSessions)
      .where(eq(webSessions.idHash, await sha256Hex(id)));
  deleteCookie(c, COOKIE, { path: "/", secure: true });
}

/** A form's CSRF token matches the session's (constant time). */
export async function csrfOk(session: Session | null, token: unknown): Promise<boolean> {
  return Boolean(
    session &&
    typeof token === "string" &&
    token.length > 0 &&
    (await secretsEqual(token, session.csrf)),
  );
}
