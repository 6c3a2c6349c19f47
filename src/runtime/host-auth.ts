/**
 * Sealed messages between the gateway and the local plugin host (pure: WebCrypto only, no I/O).
 *
 * The host secret is random per start and never travels: each message carries a payload and an
 * HMAC-SHA256 over it, and the receiver opens it only if the MAC, the kind and the expiry hold.
 * What a message may do comes from its sealed payload alone:
 * - `spec`: what one installation runs (its spec, with the `grant` and `logs` messages that go with
 *   it), sealed once per installation revision and reused for minutes: the host opens each one
 *   once and keeps it, so the spec is neither sealed nor parsed per call;
 * - `invoke`: run the spec whose MAC is `specMac` with exactly this method, path and query
 *   (expires in seconds; its nonce is what the host echoes when it reports its own failure, so
 *   plugin output cannot forge that signal). One call's message is a few hundred bytes;
 * - `clear`: delete exactly this installation's storage;
 * - `grant`: the host may make integration calls for this installation at this revision, until it
 *   expires; the gateway derives organization, environment and providers from the installation.
 * - `logs`: the host may report this installation's traces (console output, exceptions) until it
 *   expires; the gateway redacts and stores them under the installation the message names.
 */
import { fromBase64Url, toBase64Url, utf8 } from "../platform/crypto/encoding";
import type { PluginSpec } from "./spec";
import type { Result } from "../contract/result";

export interface InvokeMessage {
  kind: "invoke";
  exp: number;
  nonce: string;
  method: string;
  path: string;
  search: string;
  /** The gateway's deadline for this call (the host's subrequest budget lasts no longer). */
  deadlineMs: number;
  /** The MAC of the sealed `spec` message to run (sent beside this one): binds the two. */
  specMac: string;
}
export interface SpecMessage {
  kind: "spec";
  exp: number;
  spec: PluginSpec;
  /** A sealed `grant` for the host's integration bridge (only when the spec grants integrations). */
  grant?: string;
  /** A sealed `logs` message: the host reports the calls' traces with it (POST /__host/logs). */
  logs?: string;
}
export interface ClearMessage {
  kind: "clear";
  exp: number;
  installationId: string;
}
export interface GrantMessage {
  kind: "grant";
  exp: number;
  installationId: string;
  revision: number;
}
export interface LogsMessage {
  kind: "logs";
  exp: number;
  installationId: string;
}
export type HostMessage = InvokeMessage | SpecMessage | ClearMessage | GrantMessage | LogsMessage;

/** The MAC part of a sealed message (what an `invoke` names its `spec` by). */
export function macOf(token: string): string {
  return token.slice(token.lastIndexOf(".") + 1);
}

export type Opened<M> = Result<
  { message: M },
  { reason: "missing" | "malformed" | "bad-mac" | "wrong-kind" | "expired" }
>;

export const INVOKE_TTL_MS = 30_000;
export const GRANT_TTL_MS = 5 * 60_000;
/** A sealed spec lives as long as a grant; the gateway seals a new one when this much is left. */
export const SPEC_TTL_MS = GRANT_TTL_MS;
export const SPEC_REFRESH_MS = 60_000;

const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size > 8) keys.clear();
    key = crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

/** `payload.mac`, both base64url. Refuses to seal with an empty secret. */
export async function seal(secret: string, message: HostMessage): Promise<string> {
  if (!secret) throw new Error("no host secret is configured");
  const payload = toBase64Url(utf8(JSON.stringify(message)));
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", await hmacKey(secret), utf8(payload)),
  );
  return `${payload}.${toBase64Url(mac)}`;
}

/** Opens a sealed message of `kind`; constant-time MAC check (WebCrypto verify) before parsing. */
export async function open<K extends HostMessage["kind"]>(
  secret: string,
  token: string | null | undefined,
  kind: K,
  now = Date.now(),
): Promise<Opened<Extract<HostMessage, { kind: K }>>> {
  if (!token || !secret) return { ok: false, reason: "missing" };
  const dot = token.indexOf(".");
  if (dot <= 0 || dot !== token.lastIndexOf(".") || token.length > 256 * 1024)
    return { ok: false, reason: "malformed" };
  const payload = token.slice(0, dot);
  let mac: Uint8Array<ArrayBuffer>;
  try {
    mac = fromBase64Url(token.slice(dot + 1));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!(await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, utf8(payload))))
    return { ok: false, reason: "bad-mac" };
  let message: HostMessage;
  try {
    message = JSON.parse(new TextDecoder().decode(fromBase64Url(payload))) as HostMessage;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (message.kind !== kind) return { ok: false, reason: "wrong-kind" };
  if (typeof message.exp !== "number" || message.exp < now) return { ok: false, reason: "expired" };
  return { ok: true, message: message as Extract<HostMessage, { kind: K }> };
}

/** Opened `spec` messages by token (the plugin host keeps one; bounded). */
export type SpecCache = Map<string, SpecMessage>;
const SPEC_CACHE_MAX = 1_000;

export type OpenedCall = Result<
  { invoke: InvokeMessage; spec: SpecMessage },
  { reason: "invoke" | "method" | "spec" | "unbound" }
>;

/**
 * What the plugin host checks before it runs a call: the `invoke` message opens, was sealed for
 * this request's method, names `specToken` by its MAC, and that `spec` message opens and has not
 * expired. Each spec token is opened (MAC, parse) once and kept in `cache`; later calls check its
 * binding and expiry only.
 */
export async function openCall(
  secret: string,
  authToken: string | null | undefined,
  specToken: string | null | undefined,
  method: string,
  cache: SpecCache,
  now = Date.now(),
): Promise<OpenedCall> {
  const invoke = await open(secret, authToken, "invoke", now);
  if (!invoke.ok) return { ok: false, reason: "invoke" };
  if (invoke.message.method !== method) return { ok: false, reason: "method" };
  if (!specToken || macOf(specToken) !== invoke.message.specMac)
    return { ok: false, reason: "unbound" };
  const hit = cache.get(specToken);
  if (hit && hit.exp >= now) return { ok: true, invoke: invoke.message, spec: hit };
  if (hit) cache.delete(specToken);
  const spec = await open(secret, specToken, "spec", now);
  if (!spec.ok) return { ok: false, reason: "spec" };
  if (cache.size >= SPEC_CACHE_MAX) cache.clear();
  cache.set(specToken, spec.message);
  return { ok: true, invoke: invoke.message, spec: spec.message };
}
