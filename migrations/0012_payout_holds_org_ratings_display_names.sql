-- Issue 12 (money, ratings and names).
-- Payout holds: a sale's earnings become payable at available_at (null: at once, as before);
-- the operator sets the hold per listing or per publisher (null: the default, 14 days).
ALTER TABLE `ledger_transactions` ADD `available_at` integer;
--> statement-breakpoint
ALTER TABLE `plugins` ADD `payout_hold_hours` integer;
--> statement-breakpoint
ALTER TABLE `organizations` ADD `payout_hold_hours` integer;
--> statement-breakpoint
-- Display names are compared by their visual skeleton (src/marketplace/listing.ts displaySkeleton);
-- existing rows get the ASCII part of it here and the exact one on their next publish.
ALTER TABLE `plugins` ADD `display_skeleton` text DEFAULT '' NOT NULL;
--> statement-breakpoint
UPDATE `plugins` SET `display_skeleton` =
  replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(`display_name`), ' ', ''), '-', ''), '_', ''), '.', ''), '/', ''), '@', ''), '''', ''), ',', ''), '&', ''), '!', ''),
    'rn', 'm'), 'vv', 'w'), '0', 'o'), '1', 'l'), 'i', 'l'), '3', 'e'), '5', 's');
--> statement-breakpoint
CREATE INDEX `plugins_display_skeleton` ON `plugins` (`display_skeleton`);
--> statement-breakpoint
-- The part of a refund's developer share booked to refund_losses (a forced refund beyond the balance).
ALTER TABLE `refunds` ADD `loss` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- Never holds a row: a batch ends with `INSERT INTO ledger_guard SELECT NULL WHERE <rule broken>`,
-- so a payout or refund that would leave a developer's balance short rolls back as a whole.
CREATE TABLE `ledger_guard` (`refused` text NOT NULL);
