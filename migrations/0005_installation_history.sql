CREATE TABLE `installation_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`installation_id` text NOT NULL,
	`org_id` text NOT NULL,
	`action` text NOT NULL,
	`from_version` text,
	`to_version` text,
	`grants` text,
	`actor` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `installation_events_inst` ON `installation_events` (`installation_id`,`id`);