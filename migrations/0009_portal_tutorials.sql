CREATE TABLE `tutorials` (
	`slug` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`difficulty` text NOT NULL,
	`position` integer NOT NULL,
	`tags` text NOT NULL,
	`summary` text NOT NULL,
	`markdown` text NOT NULL,
	`html` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tutorials_order` ON `tutorials` (`position`);