-- Issue 15: `atoll logs` — plugins' console output and uncaught exceptions, redacted, per installation.
CREATE TABLE `installation_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`installation_id` text NOT NULL,
	`at` integer NOT NULL,
	`level` text NOT NULL,
	`message` text NOT NULL,
	`stack` text
);
--> statement-breakpoint
CREATE INDEX `installation_logs_by_installation` ON `installation_logs` (`installation_id`,`id`);
