-- Issue 19 item 4: the platform's own lifecycle events (installation.*, purchase.*, subscription.*,
-- version.*), delivered to plugins granted events:<topic> and to outbound webhook endpoints that
-- organizations register (signed, retried with backoff, logged, replayable, disabled after
-- repeated failures).
CREATE TABLE `platform_events` (
	`id` text PRIMARY KEY NOT NULL,
	`topic` text NOT NULL,
	`org_ids` text NOT NULL,
	`environment` text,
	`payload` text NOT NULL,
	`created_at` integer NOT NULL,
	`dispatched_at` integer
);
--> statement-breakpoint
CREATE INDEX `platform_events_undispatched` ON `platform_events` (`dispatched_at`,`created_at`);
--> statement-breakpoint
CREATE TABLE `platform_event_plugin_deliveries` (
	`event_id` text NOT NULL,
	`installation_id` text NOT NULL,
	`status` integer NOT NULL,
	`delivered_at` integer NOT NULL,
	PRIMARY KEY(`event_id`, `installation_id`),
	FOREIGN KEY (`event_id`) REFERENCES `platform_events`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`url` text NOT NULL,
	`topics` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`secret_enc` text NOT NULL,
	`previous_secret_enc` text,
	`previous_expires_at` integer,
	`status` text DEFAULT 'enabled' NOT NULL,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`disabled_reason` text,
	`disabled_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "webhook_endpoints_status" CHECK("webhook_endpoints"."status" IN ('enabled', 'disabled'))
);
--> statement-breakpoint
CREATE INDEX `webhook_endpoints_org` ON `webhook_endpoints` (`org_id`,`status`);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint_id` text NOT NULL,
	`event_id` text NOT NULL,
	`topic` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`last_status` integer,
	`last_error` text,
	`replay_of` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`delivered_at` integer,
	FOREIGN KEY (`endpoint_id`) REFERENCES `webhook_endpoints`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`event_id`) REFERENCES `platform_events`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "webhook_deliveries_status" CHECK("webhook_deliveries"."status" IN ('pending', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_once` ON `webhook_deliveries` (`endpoint_id`,`event_id`) WHERE "webhook_deliveries"."replay_of" IS NULL;
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_by_endpoint` ON `webhook_deliveries` (`endpoint_id`,`created_at`);
