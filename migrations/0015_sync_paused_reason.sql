-- Issue 17: a sync says why it is paused, and a sync whose connection was deleted is paused (not
-- left active, failing every run), with the reason the API shows (sync.routes.ts pausedReason).
ALTER TABLE `syncs` ADD `paused_reason` text;
--> statement-breakpoint
UPDATE `syncs` SET `status` = 'paused', `paused_reason` = 'the source connection ' || `source_id` || ' (' ||
  (SELECT CASE `provider` WHEN 'salesforce' THEN 'Salesforce' WHEN 'hubspot' THEN 'HubSpot' WHEN 'slack' THEN 'Slack' WHEN 'generic-crm' THEN 'Generic CRM' ELSE `provider` END FROM `connections` WHERE `connections`.`id` = `syncs`.`source_id`) || ') was deleted'
WHERE `source_id` IN (SELECT `id` FROM `connections` WHERE `status` = 'revoked');
--> statement-breakpoint
UPDATE `syncs` SET `status` = 'paused', `paused_reason` = 'the target connection ' || `target_id` || ' (' ||
  (SELECT CASE `provider` WHEN 'salesforce' THEN 'Salesforce' WHEN 'hubspot' THEN 'HubSpot' WHEN 'slack' THEN 'Slack' WHEN 'generic-crm' THEN 'Generic CRM' ELSE `provider` END FROM `connections` WHERE `connections`.`id` = `syncs`.`target_id`) || ') was deleted'
WHERE `status` = 'active' AND `target_id` IN (SELECT `id` FROM `connections` WHERE `status` = 'revoked');
--> statement-breakpoint
UPDATE `syncs` SET `paused_reason` = 'paused by a user' WHERE `status` = 'paused' AND `paused_reason` IS NULL;
