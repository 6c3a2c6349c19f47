/**
 * The connector interface: one module per provider. A connector knows its provider's wire
 * format — how to authenticate, how records change and are written, how its webhooks are signed —
 * but never holds a token: requests go through `send`, which the connection's broker (a Durable
 * Object per connection) signs with the current credentials and retries after a refresh.
 */
import type { z } from "zod";
import type { EgressOptions } from "../egress-policy";
import type { ProviderRequest, ProviderResult } from "../http";

export type { ProviderId } from "../../contract/permissions";
import type { ProviderId } from "../../contract/permissions";

/** What authenticating yields. `expiresAt` null: valid until refused. */
export interface Grant {
  accessToken: string;
  expiresAt: number | null;
  /** Where API calls go when the provider says (Salesforce's instance_url). */
  instanceUrl?: string;
}

/** A provider request without credentials; `path` is relative to the API origin. */
export type Call<T> = Omit<ProviderRequest<T>, "url" | "secrets" | "egress"> & { path: string };
export type Send = <T>(call: Call<T>) => Promise<ProviderResult<T>>;

export interface ChangedRecord {
  /** The provider's id of the record. */
  id: string;
  /** The provider's modification time (ISO 8601), the sync cursor's unit. */
  modifiedAt: string;
  data: Record<string, unknown>;
}

export interface ChangedPage {
  records: ChangedRecord[];
  /** Resume after the last record returned (null: unchanged). */
  cursor: string | null;
  /** No more changes right now. */
  done: boolean;
}

export interface InboundEvent {
  /** The provider's delivery or event id: deliveries are de-duplicated by it. */
  id: string;
  /** `slack.message`, `hubspot.contact.propertyChange`: plugins subscribe with events:<topic>. */
  topic: string;
  payload: unknown;
}

export type WebhookOutcome =
  | { kind: "handshake"; body: unknown }
  | { kind: "events"; events: InboundEvent[] }
  | { kind: "refused"; reason: string };

export interface WebhookRequest {
  method: string;
  /** The full URL as received (HubSpot signs it). */
  url: string;
  headers: Headers;
  rawBody: string;
  now: number;
}

export interface Connector<C extends Record<string, string>> {
  provider: ProviderId;
  label: string;
  /** The credential fields, validated at POST /v1/connections. */
  credentials: z.ZodType<C>;
  defaultBaseUrl: string;
  /** Records this connector syncs, with their fields (mappings are checked against them). */
  objects: Record<
    string,
    { fields: readonly string[]; source: boolean; target: boolean; required?: readonly string[] }
  >;
  /** `egress`: the policy's options; a URL the provider returns (an instance URL) is checked too. */
  authenticate(
    baseUrl: string,
    credentials: C,
    egress: EgressOptions,
  ): Promise<ProviderResult<Grant>>;
  /** The header that carries the grant. */
  authorize(grant: Grant): Record<string, string>;
  /** The provider's error text in an error body. */
  errorMessage(body: unknown): string | undefined;
  fetchChanged?(
    send: Send,
    object: string,
    cursor: string | null,
    limit: number,
    credentials: C,
  ): Promise<ProviderResult<ChangedPage>>;
  upsert?(
    send: Send,
    object: string,
    externalId: string,
    fields: Record<string, unknown>,
    credentials: C,
  ): Promise<ProviderResult<{ id: string; created: boolean }>>;
  webhook?(credentials: C, req: WebhookRequest): Promise<WebhookOutcome>;
}
