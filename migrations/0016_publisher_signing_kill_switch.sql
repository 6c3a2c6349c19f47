-- Issue 19 items 1-3: publisher signing keys (Ed25519 public keys an organization's owners
-- register), each version's provenance (the DSSE envelope it was published with and the key that
-- signed it), the operator's signature requirement per publisher, the kill switch (a `revoked`
-- version status; a listing suspended to "stop"), and the notices a tenant sees on its dashboard.
CREATE TABLE `publisher_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL REFERENCES `organizations`(`id`),
	`name` text NOT NULL,
	`public_key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	`revoked_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `publisher_keys_org_fingerprint` ON `publisher_keys` (`org_id`,`fingerprint`);
--> statement-breakpoint
ALTER TABLE `plugin_versions` ADD `provenance` text;
--> statement-breakpoint
ALTER TABLE `plugin_versions` ADD `signer_key_id` text REFERENCES `publisher_keys`(`id`);
--> statement-breakpoint
ALTER TABLE `plugin_versions` ADD `source_digest` text;
--> statement-breakpoint
ALTER TABLE `plugin_versions` ADD `cli_version` text;
--> statement-breakpoint
ALTER TABLE `plugin_versions` ADD `revoked_at` integer;
--> statement-breakpoint
ALTER TABLE `organizations` ADD `require_signatures` integer DEFAULT false NOT NULL;
--> statement-breakpoint
ALTER TABLE `plugins` ADD `suspension_mode` text;
--> statement-breakpoint
CREATE TABLE `org_notices` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL REFERENCES `organizations`(`id`),
	`kind` text NOT NULL,
	`target` text,
	`message` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `org_notices_org` ON `org_notices` (`org_id`,`created_at`);
