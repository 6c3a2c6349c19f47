/**
 * One ConnectionBroker Durable Object per connection: the only place a connection's token is
 * used. It refreshes the grant before it expires (and after a 401), and a refresh is
 * single-flight — concurrent requests wait for the same one, so two never race a refresh. A
 * failed refresh marks the connection `error` with the provider's reason (reported by the API).
 */
import { DurableObject } from "cloudflare:workers";
import { and, eq, ne } from "drizzle-orm";
import { getDb } from "../platform/db/client";
import { connections, type ConnectionRow } from "../platform/db/schema";
import { connectorFor } from "./connectors";
import type { Grant } from "./connectors/types";
import { z } from "zod";
import { egressRefused, providerRequest, type ProviderResult } from "./http";
import { egressOptions, joinEgressUrl, type EgressVerdict } from "./egress-policy";
import { open, seal } from "./vault";

/** Refresh this long before the grant's expiry. */
export const REFRESH_MARGIN_MS = 60_000;
export const MAX_FORWARD_BYTES = 1024 * 1024;

/** A provider call as it crosses RPC: plain data only. */
export interface RawCall {
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  retries?: number;
}

export interface Forwarded {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class ConnectionBroker extends DurableObject<Env> {
  private grant: Grant | null = null;
  private refreshing: Promise<Grant> | null = null;
  /** Refreshes done by this object (tests read it to prove single-flight). */
  private refreshes = 0;

  private async row(id: string): Promise<ConnectionRow> {
    const [row] = await getDb(this.env.DB).select().from(connections).where(eq(connections.id, id));
    if (!row || row.status === "revoked") throw new Error("connection revoked");
    return row;
  }

  private async credentials(row: ConnectionRow): Promise<Record<string, string>> {
    return open<Record<string, string>>(
      this.env,
      row.id,
      "credentials",
      row.credentialsEnc,
      row.keyId,
    );
  }

  /**
   * The current grant, refreshed first when it is about to expire — or when the provider refused
   * `refusedToken`, unless another request has already replaced that token (then the new one is
   * used: ten requests refused at once cause one refresh, not ten).
   */
  private async currentGrant(row: ConnectionRow, refusedToken?: string): Promise<Grant> {
    if (!this.grant && row.grantEnc)
      this.grant = await open<Grant>(this.env, row.id, "grant", row.grantEnc, row.keyId);
    if (refusedToken !== undefined && this.grant && this.grant.accessToken !== refusedToken)
      return this.grant;
    const fresh =
      this.grant &&
      (this.grant.expiresAt === null || this.grant.expiresAt - REFRESH_MARGIN_MS > Date.now());
    if (refusedToken === undefined && fresh && this.grant) return this.grant;
    this.refreshing ??= this.refresh(row).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refresh(row: ConnectionRow): Promise<Grant> {
    const connector = connectorFor(row.provider);
    if (!connector) throw new Error(`unknown provider ${row.provider}`);
    this.refreshes += 1;
    const creds = await this.credentials(row);
    const res = await connector.authenticate(row.baseUrl, creds, egressOptions(this.env));
    const db = getDb(this.env.DB);
    // Every write below is guarded on "not revoked" in the same statement: a disconnect that lands
    // while the provider is answering wins, whatever the refresh brings back.
    const notRevoked = and(eq(connections.id, row.id), ne(connections.status, "revoked"));
    if (!res.ok) {
      await db
        .update(connections)
        .set({
          status: "error",
          lastError: `${connector.label} refused the refresh: ${res.message}`.slice(0, 300),
        })
        .where(notRevoked);
      throw new Error(`refresh failed: ${res.message}`);
    }
    const sealed = await seal(this.env, row.id, "grant", res.data);
    // Credentials are re-sealed too, so a key rotation completes as connections are used.
    const creds2 = await seal(this.env, row.id, "credentials", creds);
    const saved = await db
      .update(connections)
      .set({
        grantEnc: sealed.enc,
        credentialsEnc: creds2.enc,
        keyId: sealed.keyId,
        grantExpiresAt: res.data.expiresAt,
        refreshedAt: Date.now(),
        status: "active",
        lastError: null,
      })
      .where(notRevoked)
      .run();
    if (saved.meta.changes !== 1) {
      this.grant = null;
      throw new Error("connection revoked");
    }
    this.grant = res.data;
    return res.data;
  }

  /**
   * A provider call with the credentials injected (connectors and sync use it). The body comes
   * back as parsed JSON; the caller validates it (zod schemas do not cross RPC): see `sender`.
   */
  async request(connectionId: string, call: RawCall): Promise<ProviderResult<unknown>> {
    const row = await this.row(connectionId);
    const connector = connectorFor(row.provider);
    if (!connector) throw new Error(`unknown provider ${row.provider}`);
    const secrets = Object.values(await this.credentials(row));
    const egress = egressOptions(this.env);
    return this.withGrant(row, async (grant) => {
      const target = apiUrl(row, grant, call.path, egress);
      if (!target.ok)
        return {
          refused: false,
          value: egressRefused(
            grant.instanceUrl ?? row.baseUrl,
            target,
            grant.instanceUrl ? "the instance_url" : "the base URL",
          ),
        };
      const res = await providerRequest({
        ...call,
        url: target.url.href,
        headers: {
          accept: "application/json",
          ...(call.headers ?? {}),
          ...connector.authorize(grant),
        },
        schema: z.unknown(),
        errorMessage: connector.errorMessage,
        secrets: [...secrets, grant.accessToken],
        egress,
      });
      return {
        refused: !res.ok && res.reason === "auth",
        value: res.ok
          ? { ok: true as const, status: res.status, data: res.data, headers: new Headers() }
          : res,
      };
    });
  }

  /**
   * Runs `attempt` with the current grant; if the provider refused the token, once more with a
   * refreshed one (Salesforce sessions expire without notice).
   */
  private async withGrant<T>(
    row: ConnectionRow,
    attempt: (grant: Grant) => Promise<{ refused: boolean; value: T }>,
  ): Promise<T> {
    const grant = await this.currentGrant(row);
    const first = await attempt(grant);
    if (!first.refused) return first.value;
    // Refreshes only if no concurrent request has already replaced the refused token.
    return (await attempt(await this.currentGrant(row, grant.accessToken))).value;
  }

  /** A plugin's raw request (integrations:<provider>), credentials injected, body capped. */
  async forward(
    connectionId: string,
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<Forwarded> {
    const row = await this.row(connectionId);
    const connector = connectorFor(row.provider);
    if (!connector) throw new Error(`unknown provider ${row.provider}`);
    if (!/^\/[^\s]*$/.test(path) || path.startsWith("//"))
      return {
        status: 400,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ error: "path must be absolute, like /api/chat.postMessage" }),
      };
    const creds = await this.credentials(row);
    const egress = egressOptions(this.env);
    return this.withGrant(row, async (grant) => {
      const target = apiUrl(row, grant, path, egress);
      if (!target.ok)
        return {
          refused: false,
          value: {
            status: 502,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              error: egressRefused(
                grant.instanceUrl ?? row.baseUrl,
                target,
                grant.instanceUrl ? "the instance_url" : "the base URL",
              ).message,
            }),
          },
        };
      const headers = { ...(init.headers ?? {}) };
      for (const h of Object.keys(headers))
        if (/^(authorization|cookie|host)$/i.test(h)) delete headers[h];
      const res = await fetch(target.url.href, {
        method: init.method ?? "GET",
        headers: { ...headers, ...connector.authorize(grant) },
        ...(init.body !== undefined ? { body: init.body } : {}),
        redirect: "manual",
      });
      return { refused: res.status === 401, value: await forwarded(res, creds, grant) };
    });
  }

  /** Forgets the cached grant (the connection was revoked or its credentials changed). */
  forget(): number {
    this.grant = null;
    return this.refreshes;
  }

  refreshCount(): number {
    return this.refreshes;
  }
}

/**
 * Where a call goes: the grant's instance URL (a provider-returned URL) or the connection's base
 * URL, joined with the path and checked by the egress policy now, at the moment of use.
 */
function apiUrl(
  row: ConnectionRow,
  grant: Grant,
  path: string,
  egress: ReturnType<typeof egressOptions>,
): EgressVerdict {
  return joinEgressUrl(grant.instanceUrl ?? row.baseUrl, path, egress);
}

/** The plugin's copy of a provider answer: capped, and without the connection's own secrets. */
async function forwarded(
  res: Response,
  creds: Record<string, string>,
  grant: Grant,
): Promise<Forwarded> {
  const text = await res.text();
  if (text.length > MAX_FORWARD_BYTES)
    return {
      status: 502,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        error: `the provider's answer is larger than ${MAX_FORWARD_BYTES} bytes`,
      }),
    };
  let body = text;
  for (const s of [...Object.values(creds), grant.accessToken])
    if (s.length >= 8) body = body.split(s).join("[redacted]");
  return {
    status: res.status,
    headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
    body,
  };
}
