CREATE TABLE `connections` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`provider` text NOT NULL,
	`environment` text NOT NULL,
	`name` text NOT NULL,
	`base_url` text NOT NULL,
	`status` text NOT NULL,
	`credentials_enc` text NOT NULL,
	`grant_enc` text,
	`key_id` text NOT NULL,
	`grant_expires_at` integer,
	`last_error` text,
	`refreshed_at` integer,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `connections_org` ON `connections` (`org_id`,`provider`,`environment`,`status`);--> statement-breakpoint
CREATE TABLE `event_deliveries` (
	`event_id` text NOT NULL,
	`target` text NOT NULL,
	`delivered_at` integer NOT NULL,
	PRIMARY KEY(`event_id`, `target`)
);
--> statement-breakpoint
CREATE TABLE `integration_events` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`environment` text NOT NULL,
	`connection_id` text,
	`topic` text NOT NULL,
	`payload` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `integration_events_org_topic` ON `integration_events` (`org_id`,`topic`,`created_at`);--> statement-breakpoint
CREATE TABLE `sync_failures` (
	`sync_id` text NOT NULL,
	`source_record_id` text NOT NULL,
	`record` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`error` text NOT NULL,
	`dead` integer DEFAULT false NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`sync_id`, `source_record_id`)
);
--> statement-breakpoint
CREATE INDEX `sync_failures_due` ON `sync_failures` (`sync_id`,`dead`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `sync_links` (
	`sync_id` text NOT NULL,
	`source_record_id` text NOT NULL,
	`target_record_id` text NOT NULL,
	`hash` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`sync_id`, `source_record_id`)
);
--> statement-breakpoint
CREATE TABLE `sync_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`sync_id` text NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`fetched` integer DEFAULT 0 NOT NULL,
	`created` integer DEFAULT 0 NOT NULL,
	`updated` integer DEFAULT 0 NOT NULL,
	`unchanged` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`dead_lettered` integer DEFAULT 0 NOT NULL,
	`pages` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`error` text,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `sync_runs_sync` ON `sync_runs` (`sync_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `syncs` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`source_id` text NOT NULL,
	`target_id` text NOT NULL,
	`object` text NOT NULL,
	`mapping` text NOT NULL,
	`interval_seconds` integer NOT NULL,
	`status` text NOT NULL,
	`cursor` text,
	`next_run_at` integer NOT NULL,
	`running_run_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `syncs_due` ON `syncs` (`status`,`next_run_at`);--> statement-breakpoint
CREATE TABLE `zapier_hooks` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`topic` text NOT NULL,
	`hook_url` text NOT NULL,
	`created_at` integer NOT NULL,
	`removed_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `zapier_hooks_org_topic` ON `zapier_hooks` (`org_id`,`topic`);