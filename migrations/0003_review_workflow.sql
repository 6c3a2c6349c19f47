ALTER TABLE `plugin_versions` ADD `readme` text;--> statement-breakpoint
ALTER TABLE `plugin_versions` ADD `review_note` text;--> statement-breakpoint
ALTER TABLE `plugin_versions` ADD `reviewed_at` integer;--> statement-breakpoint
CREATE INDEX `plugin_versions_status` ON `plugin_versions` (`status`,`created_at`);--> statement-breakpoint
ALTER TABLE `plugins` ADD `name_skeleton` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `suspended_at` integer;--> statement-breakpoint
CREATE INDEX `plugins_skeleton` ON `plugins` (`name_skeleton`);