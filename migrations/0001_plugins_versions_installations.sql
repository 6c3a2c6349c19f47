CREATE TABLE `installations` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`plugin_id` text NOT NULL,
	`version_id` text NOT NULL,
	`environment` text NOT NULL,
	`grants` text NOT NULL,
	`config` text DEFAULT '{}' NOT NULL,
	`secrets_enc` text,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`plugin_id`) REFERENCES `plugins`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`version_id`) REFERENCES `plugin_versions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `installations_one_active` ON `installations` (`org_id`,`plugin_id`,`environment`) WHERE status = 'active';--> statement-breakpoint
CREATE INDEX `installations_org` ON `installations` (`org_id`,`status`);--> statement-breakpoint
CREATE TABLE `plugin_versions` (
	`id` text PRIMARY KEY NOT NULL,
	`plugin_id` text NOT NULL,
	`version` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`manifest` text NOT NULL,
	`status` text DEFAULT 'published' NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`plugin_id`) REFERENCES `plugins`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `plugin_versions_plugin_version` ON `plugin_versions` (`plugin_id`,`version`);--> statement-breakpoint
CREATE INDEX `plugin_versions_sha` ON `plugin_versions` (`sha256`);--> statement-breakpoint
CREATE TABLE `plugins` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`org_id` text NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `plugins_name_unique` ON `plugins` (`name`);