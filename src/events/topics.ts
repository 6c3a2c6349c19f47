/**
 * The platform's own event topics (pure). Plugins subscribe with the `events:<topic>` permission;
 * webhook endpoints list the topics they take. Each event is `{ id, topic, createdAt, payload }`,
 * the envelope provider events already use (packages/sdk `PluginEvent`), so one handler shape
 * serves both.
 */
import { z } from "zod";

export const PLATFORM_TOPICS = [
  "installation.created",
  "installation.updated",
  "installation.deleted",
  "purchase.succeeded",
  "purchase.refunded",
  "subscription.renewed",
  "subscription.past_due",
  "subscription.canceled",
  "version.published",
  "version.revoked",
] as const;

export type PlatformTopic = (typeof PLATFORM_TOPICS)[number];

export const PlatformTopicSchema = z.enum(PLATFORM_TOPICS);

/**
 * How long a plugin has, after its `installation.deleted`, to delete what it holds about the
 * organization elsewhere (Shopify's mandatory redaction webhooks allow 30 days too). The platform
 * deletes the installation's own storage and secrets at once.
 */
export const DATA_DELETION_DAYS = 30;

export function isPlatformTopic(topic: string): topic is PlatformTopic {
  return (PLATFORM_TOPICS as readonly string[]).includes(topic);
}

/** What a subscriber receives (the body of a webhook delivery, a plugin's /__atoll/event). */
export interface PlatformEnvelope {
  id: string;
  topic: PlatformTopic;
  createdAt: string;
  payload: Record<string, unknown>;
}

/** The `installation` object of installation.* payloads (what the tenant and the publisher both know). */
export function installationPayload(i: {
  id: string;
  orgId: string;
  plugin: string;
  version: string;
  environment: string;
}): Record<string, unknown> {
  return {
    installation: {
      id: i.id,
      organization: i.orgId,
      plugin: i.plugin,
      version: i.version,
      environment: i.environment,
    },
  };
}

/** When a removed plugin must have deleted what it holds about the organization. */
export function dataDeletionDeadline(uninstalledAt: number): string {
  return new Date(uninstalledAt + DATA_DELETION_DAYS * 24 * 3_600_000).toISOString();
}

/** The `version` object of version.* payloads. */
export function versionPayload(v: {
  plugin: string;
  version: string;
  sha256: string;
}): Record<string, unknown> {
  return { version: { plugin: v.plugin, version: v.version, sha256: v.sha256 } };
}
