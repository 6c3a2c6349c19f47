-- Issue 20: sync runs are bounded (pages, records, wall time) and a source that pages without
-- progress is flagged on its connection.
ALTER TABLE `connections` ADD `flag_reason` text;
--> statement-breakpoint
ALTER TABLE `connections` ADD `flagged_at` integer;
--> statement-breakpoint
ALTER TABLE `sync_runs` ADD `empty_pages` integer DEFAULT 0 NOT NULL;
