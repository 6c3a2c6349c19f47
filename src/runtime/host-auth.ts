/**
 * Sealed messages between the gateway and the local plugin host (pure: WebCrypto only, no I/O).
 *
 * The host secret is random per start and never travels. Each message is encrypted and
 * authenticated with AES-256-GCM under a key derived from it, its kind bound as additional data:
 * someone who reads the loopback traffic learns nothing from a message (not the spec's secrets,
 * not the tokens inside it) and cannot change one or pass one kind off as another. The receiver
 * opens a message only if it decrypts, has the expected kind and has not expired. What a message
 * may do comes from its sealed payload alone:
 * - `spec`: what one installation runs (its spec, with the `grant` and `logs` messages that go with
 *   it), sealed once per installation revision and reused for minutes under a random `id`. The
 *   gateway sends it once; the host opens it once and keeps it, and later calls name it by id;
 * - `invoke`: run the spec with this `specId`, with exactly this method, path and query, and the
 *   request headers and body whose digest it carries (the headers it names, nothing else). It
 *   expires in seconds and its nonce is single-use (NonceLedger): a captured call cannot be sent
 *   again, and one changed in flight is refused. The host echoes the nonce when it reports its own
 *   failure, so plugin output cannot forge that signal;
 * - `clear`: delete exactly this installation's storage (single-use too);
 * - `grant`: the host may make integration calls for this installation at this revision, until it
 *   expires; the gateway derives organization, environment and providers from the installation.
 * - `logs`: the host may report this installation's traces (console output, exceptions) until it
 *   expires; the gateway redacts and stores them under the installation the message names.
 * - `relay`: one host → gateway request (an integration call or a trace report): the `grant` or
 *   `logs` token it uses and its whole body, sealed by the host, single-use, expiring in seconds.
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
  /**
   * When the gateway abandons this call (epoch ms, the gateway's clock: gateway and host share a
   * machine). The host's subrequest budget for the call ends then, not a full deadline after the
   * invoke arrives: a budget outliving the gateway's 504 would be lent to the next call.
   */
  deadlineAt: number;
  /** The `id` of the sealed `spec` message to run (the host holds it, or it is sent beside). */
  specId: string;
  /** The request headers the call carries (lower-case, sorted): the plugin gets these only. */
  headers: string[];
  /** callDigest of those headers and the body, as the gateway sent them. */
  digest: string;
}
export interface SpecMessage {
  kind: "spec";
  exp: number;
  /** Random per sealing: what each `invoke` names the spec by. */
  id: string;
  spec: PluginSpec;
  /** A sealed `grant` for the host's integration bridge (only when the spec grants integrations). */
  grant?: string;
  /** A sealed `logs` message: the host reports the calls' traces with it (POST /__host/logs). */
  logs?: string;
}
export interface ClearMessage {
  kind: "clear";
  exp: number;
  nonce: string;
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
export interface RelayMessage {
  kind: "relay";
  exp: number;
  nonce: string;
  /** Where the request goes (`/__host/logs` or `/__host/integrations`): not replayable elsewhere. */
  path: string;
  /** The `grant` or `logs` token the request uses. */
  token: string;
  /** The request's body (JSON text). */
  body: string;
}
export type HostMessage =
  InvokeMessage | SpecMessage | ClearMessage | GrantMessage | LogsMessage | RelayMessage;

export type Opened<M> = Result<
  { message: M },
  { reason: "missing" | "malformed" | "bad-mac" | "wrong-kind" | "expired" }
>;

/** An invoke only has to cross loopback before the host opens it; it is single-use besides. */
export const INVOKE_TTL_MS = 10_000;
export const RELAY_TTL_MS = 10_000;
export const GRANT_TTL_MS = 5 * 60_000;
/** A sealed spec lives as long as a grant; the gateway seals a new one when this much is left. */
export const SPEC_TTL_MS = GRANT_TTL_MS;
export const SPEC_REFRESH_MS = 60_000;
/** The largest sealed message opened (a relayed trace report is the largest). */
const MAX_TOKEN_CHARS = 6 * 1024 * 1024;

const keys = new Map<string, Promise<CryptoKey>>();
/** AES-256-GCM key: SHA-256 of the host secret (random per start, 32 bytes of entropy). */
function sealingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size > 8) keys.clear();
    key = crypto.subtle
      .digest("SHA-256", utf8(`atoll host seal v2\0${secret}`))
      .then((raw) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
    keys.set(secret, key);
  }
  return key;
}

/** `iv.ciphertext`, both base64url; the kind is bound as additional data. Needs a secret. */
export async function seal(secret: string, message: HostMessage): Promise<string> {
  if (!secret) throw new Error("no host secret is configured");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8(message.kind) },
    await sealingKey(secret),
    utf8(JSON.stringify(message)),
  );
  return `${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
}

const decoder = new TextDecoder();

/** Opens a sealed message of `kind`: it must decrypt under the secret with that kind, unexpired. */
export async function open<K extends HostMessage["kind"]>(
  secret: string,
  token: string | null | undefined,
  kind: K,
  now = Date.now(),
): Promise<Opened<Extract<HostMessage, { kind: K }>>> {
  if (!token || !secret) return { ok: false, reason: "missing" };
  const dot = token.indexOf(".");
  if (dot !== 16 || dot !== token.lastIndexOf(".") || token.length > MAX_TOKEN_CHARS)
    return { ok: false, reason: "malformed" };
  let iv: Uint8Array<ArrayBuffer>;
  let ct: Uint8Array<ArrayBuffer>;
  try {
    iv = fromBase64Url(token.slice(0, dot));
    ct = fromBase64Url(token.slice(dot + 1));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: utf8(kind) },
      await sealingKey(secret),
      ct,
    );
  } catch {
    // Another secret, a changed byte, or a message of another kind (its additional data differs).
    return { ok: false, reason: "bad-mac" };
  }
  let message: HostMessage;
  try {
    message = JSON.parse(decoder.decode(plain)) as HostMessage;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (message.kind !== kind) return { ok: false, reason: "wrong-kind" };
  if (typeof message.exp !== "number" || message.exp < now) return { ok: false, reason: "expired" };
  return { ok: true, message: message as Extract<HostMessage, { kind: K }> };
}

/**
 * Single-use nonces: a nonce is admitted once until its message expires. Bounded: past `max`
 * live entries the oldest are forgotten (at the local host's rates, `max` nonces span far more than
 * a message's lifetime, so none still valid is ever forgotten in practice).
 */
export class NonceLedger {
  private readonly seen = new Map<string, number>();
  constructor(private readonly max = 200_000) {}

  /** True the first time `nonce` is seen before `exp`; false for a replay. */
  admit(nonce: string, exp: number, now = Date.now()): boolean {
    // Entries are in arrival order: drop the expired ones from the front.
    for (const [old, oldExp] of this.seen) {
      if (oldExp >= now && this.seen.size < this.max) break;
      this.seen.delete(old);
    }
    if (!nonce || this.seen.has(nonce)) return false;
    this.seen.set(nonce, exp);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

/**
 * Headers the HTTP hop itself sets or changes (and the host's own): not part of a call's digest,
 * and never passed to the plugin from the wire.
 */
const TRANSPORT_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "te",
  "upgrade",
  "accept-encoding",
]);
const HOST_PREFIX = "x-atoll-host-";
const isTransport = (name: string) =>
  TRANSPORT_HEADERS.has(name) ||
  name.startsWith(HOST_PREFIX) ||
  name.startsWith("cf-") ||
  name.startsWith("mf-");

/** The header names a call seals (lower-case, sorted, without transport and host headers). */
export function callHeaderNames(headers: Headers): string[] {
  const names: string[] = [];
  for (const [name] of headers) if (!isTransport(name) && !names.includes(name)) names.push(name);
  return names.sort();
}

/**
 * SHA-256 (base64url) over the named headers' values, in order, and the body: what the gateway
 * sent and the host received must give the same digest. Length-prefixed, so no two different
 * inputs share one encoding.
 */
export async function callDigest(
  headers: Headers,
  names: readonly string[],
  body: Uint8Array | null,
): Promise<string> {
  let text = "";
  for (const name of names) {
    const value = headers.get(name) ?? "";
    text += `${name.length}:${name}${value.length}:${value}\n`;
  }
  const head = utf8(text);
  const bytes = new Uint8Array(head.byteLength + 8 + (body?.byteLength ?? 0));
  bytes.set(head, 0);
  new DataView(bytes.buffer).setFloat64(head.byteLength, body?.byteLength ?? -1);
  if (body) bytes.set(body, head.byteLength + 8);
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** Seals the `invoke` for one call of the spec `specId`: its headers and body go into the digest. */
export async function sealInvoke(
  secret: string,
  call: {
    specId: string;
    method: string;
    url: URL;
    headers: Headers;
    body: Uint8Array | null;
    deadlineAt: number;
  },
  now = Date.now(),
): Promise<{ token: string; nonce: string }> {
  const nonce = crypto.randomUUID();
  const names = callHeaderNames(call.headers);
  const token = await seal(secret, {
    kind: "invoke",
    exp: now + INVOKE_TTL_MS,
    nonce,
    method: call.method,
    path: call.url.pathname,
    search: call.url.search,
    deadlineAt: call.deadlineAt,
    specId: call.specId,
    headers: names,
    digest: await callDigest(call.headers, names, call.body),
  });
  return { token, nonce };
}

/** Opened `spec` messages by id (the plugin host keeps one; bounded). */
export type SpecCache = Map<string, SpecMessage>;
const SPEC_CACHE_MAX = 1_000;

export type OpenedCall = Result<
  { invoke: InvokeMessage; spec: SpecMessage; headers: Headers },
  | { reason: "invoke" | "method" | "spec" | "unbound" | "tampered" | "replay" }
  /** The invoke is genuine; its nonce is what the host answers with to ask for the spec. */
  | { reason: "unknown-spec"; nonce: string }
>;

/**
 * What the plugin host checks before it runs a call: the `invoke` message opens and was sealed for
 * this request's method; the spec it names by id is held (or sent beside it: that `spec` message
 * opens, carries the id and has not expired); the received headers and body match its digest;
 * and its nonce has not been used. `unknown-spec` (nothing consumed) asks the gateway to send the
 * spec. On success, `headers` holds exactly the headers the invoke names.
 */
export async function openCall(
  secret: string,
  call: {
    auth: string | null | undefined;
    spec: string | null | undefined;
    method: string;
    headers: Headers;
    body: Uint8Array | null;
  },
  cache: SpecCache,
  ledger: NonceLedger,
  now = Date.now(),
): Promise<OpenedCall> {
  const opened = await open(secret, call.auth, "invoke", now);
  if (!opened.ok) return { ok: false, reason: "invoke" };
  const invoke = opened.message;
  if (invoke.method !== call.method) return { ok: false, reason: "method" };
  let spec = cache.get(invoke.specId);
  if (spec && spec.exp < now) {
    cache.delete(invoke.specId);
    spec = undefined;
  }
  if (!spec) {
    if (!call.spec) return { ok: false, reason: "unknown-spec", nonce: invoke.nonce };
    const sent = await open(secret, call.spec, "spec", now);
    if (!sent.ok) return { ok: false, reason: "spec" };
    if (sent.message.id !== invoke.specId) return { ok: false, reason: "unbound" };
    spec = sent.message;
    if (cache.size >= SPEC_CACHE_MAX) cache.clear();
    cache.set(spec.id, spec);
  }
  const names = Array.isArray(invoke.headers) ? invoke.headers : [];
  if ((await callDigest(call.headers, names, call.body)) !== invoke.digest)
    return { ok: false, reason: "tampered" };
  if (!ledger.admit(invoke.nonce, invoke.exp, now)) return { ok: false, reason: "replay" };
  const headers = new Headers();
  for (const name of names) {
    const value = call.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return { ok: true, invoke, spec, headers };
}

/**
 * Opens a host → gateway `relay` for `path`: single-use, unexpired, and the `grant`/`logs` token
 * inside it opens as `kind`. Returns the inner message and the body.
 */
export async function openRelay<K extends "grant" | "logs">(
  secret: string,
  token: string,
  path: string,
  kind: K,
  ledger: NonceLedger,
  now = Date.now(),
): Promise<
  Result<{ message: Extract<HostMessage, { kind: K }>; body: string }, { reason: string }>
> {
  const relay = await open(secret, token, "relay", now);
  if (!relay.ok) return { ok: false, reason: relay.reason };
  if (relay.message.path !== path) return { ok: false, reason: "wrong-path" };
  const inner = await open(secret, relay.message.token, kind, now);
  if (!inner.ok) return { ok: false, reason: `${kind}: ${inner.reason}` };
  if (!ledger.admit(relay.message.nonce, relay.message.exp, now))
    return { ok: false, reason: "replay" };
  return { ok: true, message: inner.message, body: relay.message.body };
}

/** What the host sends the gateway for one relayed request (body of the POST). */
export function sealRelay(
  secret: string,
  path: string,
  token: string,
  body: string,
  now = Date.now(),
): Promise<string> {
  return seal(secret, {
    kind: "relay",
    exp: now + RELAY_TTL_MS,
    nonce: crypto.randomUUID(),
    path,
    token,
    body,
  });
}
