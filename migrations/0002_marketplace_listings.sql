ALTER TABLE `plugins` ADD `display_name` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `summary` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `description` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `category` text DEFAULT 'other' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `keywords` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `icon` text;--> statement-breakpoint
ALTER TABLE `plugins` ADD `homepage` text;--> statement-breakpoint
ALTER TABLE `plugins` ADD `pricing` text DEFAULT '{"model":"free"}' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `pricing_model` text DEFAULT 'free' NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `latest_version` text;--> statement-breakpoint
ALTER TABLE `plugins` ADD `listed` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `install_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `rating_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `rating_sum` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `updated_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `plugins_browse` ON `plugins` (`listed`,`kind`,`category`);--> statement-breakpoint
-- Full-text index of listed plugins (maintained by the application in the same D1 batch as the
-- listing row; see src/marketplace/queries.ts). Porter stemming over unicode61 tokens.
CREATE VIRTUAL TABLE `listings_fts` USING fts5(`plugin_id` UNINDEXED, `name`, `display_name`, `summary`, `description`, `keywords`, tokenize = 'porter unicode61');
