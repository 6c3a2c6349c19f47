CREATE TABLE `web_sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`key_enc` text NOT NULL,
	`csrf` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `web_sessions_expiry` ON `web_sessions` (`expires_at`);