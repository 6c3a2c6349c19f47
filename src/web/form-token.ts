/**
 * CSRF protection for the forms shown before there is a session (sign-in and sign-up), against
 * login CSRF: a page that posts the attacker's API key into /signin would sign the victim into
 * the attacker's account. Signed double submit: the form page sets a random HttpOnly cookie and
 * puts HMAC(ATOLL_SECRET_KEY, cookie) in the form; a post is accepted only when the two agree.
 * Another site can neither read the cookie nor compute the HMAC (and a cookie it manages to
 * plant is useless without the matching field).
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../platform/http/router";
import { randomBase62, toBase64Url } from "../platform/crypto/encoding";
import { hmacSha256, secretsEqual } from "../platform/crypto/hash";

export const FORM_COOKIE = "atoll_form";
const COOKIE_PATTERN = /^[0-9A-Za-z]{32}$/;

async function tokenFor(c: Context<AppEnv>, cookie: string): Promise<string> {
  return toBase64Url(await hmacSha256(c.env.ATOLL_SECRET_KEY, `web-form:${cookie}`));
}

/** The token to embed in a pre-session form (setting the cookie if the browser has none). */
export async function formToken(c: Context<AppEnv>): Promise<string> {
  let cookie = getCookie(c, FORM_COOKIE);
  if (!cookie || !COOKIE_PATTERN.test(cookie)) {
    cookie = randomBase62(32);
    setCookie(c, FORM_COOKIE, cookie, {
      httpOnly: true,
      secure: true,
      sameSite: "Lax",
      path: "/",
      maxAge: 12 * 3600,
    });
  }
  return tokenFor(c, cookie);
}

/** Whether a posted pre-session form carries the token that matches this browser's cookie. */
export async function formTokenOk(c: Context<AppEnv>, token: unknown): Promise<boolean> {
  const cookie = getCookie(c, FORM_COOKIE);
  if (!cookie || !COOKIE_PATTERN.test(cookie) || typeof token !== "string" || token.length === 0)
    return false;
  return secretsEqual(token, await tokenFor(c, cookie));
}
