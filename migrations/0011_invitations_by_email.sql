-- Invitations name an e-mail address and a role; the membership (and, for a new address, the
-- user) is created only when the invitee accepts. The token is mailed to the invitee and never
-- shown to the inviter. Open invitations of the old kind (their token was handed to the
-- inviter) are void: they are not carried over, and the memberships they created for someone
-- who never accepted (no API key in that organization) are removed.
CREATE TABLE `invitations_v2` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`email` text NOT NULL,
	`role` text NOT NULL,
	`invited_by` text,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`accepted_at` integer,
	`accepted_by` text,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `invitations_v2` (`id`, `org_id`, `email`, `role`, `invited_by`, `token_hash`, `created_at`, `expires_at`, `accepted_at`, `accepted_by`)
SELECT i.`id`, i.`org_id`, u.`email`, COALESCE(m.`role`, 'member'), NULL, i.`token_hash`, i.`created_at`, i.`expires_at`, i.`accepted_at`, i.`user_id`
FROM `invitations` i JOIN `users` u ON u.`id` = i.`user_id` LEFT JOIN `memberships` m ON m.`org_id` = i.`org_id` AND m.`user_id` = i.`user_id`
WHERE i.`accepted_at` IS NOT NULL;
--> statement-breakpoint
DELETE FROM `memberships` WHERE `role` != 'owner' AND EXISTS (
	SELECT 1 FROM `invitations` i WHERE i.`org_id` = `memberships`.`org_id` AND i.`user_id` = `memberships`.`user_id` AND i.`accepted_at` IS NULL
) AND NOT EXISTS (
	SELECT 1 FROM `api_keys` k WHERE k.`org_id` = `memberships`.`org_id` AND k.`user_id` = `memberships`.`user_id`
);
--> statement-breakpoint
DROP TABLE `invitations`;
--> statement-breakpoint
ALTER TABLE `invitations_v2` RENAME TO `invitations`;
--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_token_hash_unique` ON `invitations` (`token_hash`);
--> statement-breakpoint
CREATE INDEX `invitations_org_email_idx` ON `invitations` (`org_id`, `email`);
