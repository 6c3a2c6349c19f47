CREATE TABLE `idempotency_keys` (
	`owner` text NOT NULL,
	`key` text NOT NULL,
	`endpoint` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`locked_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`owner`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `ledger_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`org_id` text,
	`currency` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `ledger_entries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`txn_id` text NOT NULL,
	`account_id` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ledger_entries_account` ON `ledger_entries` (`account_id`,`id`);--> statement-breakpoint
CREATE INDEX `ledger_entries_txn` ON `ledger_entries` (`txn_id`);--> statement-breakpoint
CREATE TABLE `ledger_transactions` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`currency` text NOT NULL,
	`reference` text NOT NULL,
	`memo` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ledger_transactions_reference` ON `ledger_transactions` (`reference`);--> statement-breakpoint
CREATE INDEX `ledger_transactions_created` ON `ledger_transactions` (`created_at`);--> statement-breakpoint
CREATE TABLE `payout_items` (
	`txn_id` text NOT NULL,
	`account_id` text NOT NULL,
	`payout_id` text NOT NULL,
	PRIMARY KEY(`txn_id`, `account_id`)
);
--> statement-breakpoint
CREATE INDEX `payout_items_payout` ON `payout_items` (`payout_id`);--> statement-breakpoint
CREATE TABLE `payouts` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`currency` text NOT NULL,
	`amount` integer NOT NULL,
	`status` text NOT NULL,
	`destination` text NOT NULL,
	`provider_transfer_id` text,
	`failure_reason` text,
	`run_id` text,
	`created_at` integer NOT NULL,
	`settled_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `payouts_org` ON `payouts` (`org_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `payouts_status` ON `payouts` (`status`);--> statement-breakpoint
CREATE TABLE `platform_settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `provider_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `purchases` (
	`id` text PRIMARY KEY NOT NULL,
	`buyer_org_id` text NOT NULL,
	`plugin_id` text NOT NULL,
	`publisher_org_id` text NOT NULL,
	`kind` text NOT NULL,
	`subscription_id` text,
	`period` integer,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`fee_bps` integer NOT NULL,
	`fee` integer NOT NULL,
	`share` integer NOT NULL,
	`refunded_amount` integer DEFAULT 0 NOT NULL,
	`refunded_fee` integer DEFAULT 0 NOT NULL,
	`status` text NOT NULL,
	`provider_charge_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`buyer_org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`plugin_id`) REFERENCES `plugins`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`publisher_org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "purchases_amounts" CHECK(amount >= 0 AND fee >= 0 AND share >= 0 AND fee + share = amount AND refunded_amount >= 0 AND refunded_amount <= amount AND refunded_fee <= fee)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `purchases_provider_charge_id_unique` ON `purchases` (`provider_charge_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `purchases_subscription_period` ON `purchases` (`subscription_id`,`period`);--> statement-breakpoint
CREATE INDEX `purchases_buyer` ON `purchases` (`buyer_org_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `purchases_publisher` ON `purchases` (`publisher_org_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `purchases_created` ON `purchases` (`created_at`);--> statement-breakpoint
CREATE TABLE `refunds` (
	`id` text PRIMARY KEY NOT NULL,
	`purchase_id` text NOT NULL,
	`seq` integer NOT NULL,
	`amount` integer NOT NULL,
	`fee` integer NOT NULL,
	`share` integer NOT NULL,
	`currency` text NOT NULL,
	`status` text NOT NULL,
	`provider_key` text NOT NULL,
	`provider_refund_id` text,
	`reason` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`purchase_id`) REFERENCES `purchases`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `refunds_purchase_seq` ON `refunds` (`purchase_id`,`seq`);--> statement-breakpoint
CREATE INDEX `refunds_created` ON `refunds` (`created_at`);--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`buyer_org_id` text NOT NULL,
	`plugin_id` text NOT NULL,
	`publisher_org_id` text NOT NULL,
	`billing` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`per` integer,
	`fee_bps` integer NOT NULL,
	`status` text NOT NULL,
	`period` integer DEFAULT 1 NOT NULL,
	`current_period_start` integer NOT NULL,
	`current_period_end` integer NOT NULL,
	`cancel_at_period_end` integer DEFAULT false NOT NULL,
	`failed_attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`last_error` text,
	`usage_calls` integer DEFAULT 0 NOT NULL,
	`usage_billed` integer DEFAULT 0 NOT NULL,
	`usage_through` integer,
	`created_at` integer NOT NULL,
	`ended_at` integer,
	FOREIGN KEY (`buyer_org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`plugin_id`) REFERENCES `plugins`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`publisher_org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subscriptions_one_live` ON `subscriptions` (`buyer_org_id`,`plugin_id`) WHERE status IN ('active', 'past_due');--> statement-breakpoint
CREATE INDEX `subscriptions_due` ON `subscriptions` (`status`,`current_period_end`);--> statement-breakpoint
CREATE INDEX `subscriptions_publisher` ON `subscriptions` (`publisher_org_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `usage_rollups` (
	`installation_id` text NOT NULL,
	`org_id` text NOT NULL,
	`plugin_id` text NOT NULL,
	`granularity` text NOT NULL,
	`bucket` integer NOT NULL,
	`calls` integer DEFAULT 0 NOT NULL,
	`client_errors` integer DEFAULT 0 NOT NULL,
	`server_errors` integer DEFAULT 0 NOT NULL,
	`latency_ms_sum` integer DEFAULT 0 NOT NULL,
	`latency_ms_max` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`installation_id`, `granularity`, `bucket`)
);
--> statement-breakpoint
CREATE INDEX `usage_rollups_plugin` ON `usage_rollups` (`plugin_id`,`granularity`,`bucket`);--> statement-breakpoint
CREATE INDEX `usage_rollups_org` ON `usage_rollups` (`org_id`,`granularity`,`bucket`);--> statement-breakpoint
ALTER TABLE `organizations` ADD `fee_bps` integer;--> statement-breakpoint
ALTER TABLE `organizations` ADD `payout_account` text;--> statement-breakpoint
ALTER TABLE `organizations` ADD `payment_method` text;--> statement-breakpoint
ALTER TABLE `plugins` ADD `fee_bps` integer;--> statement-breakpoint
-- Hand-written (drizzle-kit does not model triggers): the ledger is append-only and balanced.
-- A transaction's entries are inserted first, then its header; the header is refused unless
-- its entries exist, are all in its currency, and sum to zero. Entries cannot be added to a
-- transaction that is already posted. Nothing in the ledger can be updated or deleted.
CREATE TRIGGER `ledger_transactions_balanced` BEFORE INSERT ON `ledger_transactions`
WHEN (SELECT COUNT(*) FROM `ledger_entries` WHERE `txn_id` = NEW.`id`) < 2
  OR (SELECT SUM(`amount`) FROM `ledger_entries` WHERE `txn_id` = NEW.`id`) != 0
  OR EXISTS (SELECT 1 FROM `ledger_entries` WHERE `txn_id` = NEW.`id` AND `currency` != NEW.`currency`)
BEGIN SELECT RAISE(ABORT, 'ledger: unbalanced transaction'); END;
--> statement-breakpoint
CREATE TRIGGER `ledger_entries_closed` BEFORE INSERT ON `ledger_entries`
WHEN EXISTS (SELECT 1 FROM `ledger_transactions` WHERE `id` = NEW.`txn_id`)
BEGIN SELECT RAISE(ABORT, 'ledger: transaction already posted'); END;
--> statement-breakpoint
CREATE TRIGGER `ledger_entries_no_update` BEFORE UPDATE ON `ledger_entries`
BEGIN SELECT RAISE(ABORT, 'ledger: entries are append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `ledger_entries_no_delete` BEFORE DELETE ON `ledger_entries`
BEGIN SELECT RAISE(ABORT, 'ledger: entries are append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `ledger_transactions_no_update` BEFORE UPDATE ON `ledger_transactions`
BEGIN SELECT RAISE(ABORT, 'ledger: transactions are append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `ledger_transactions_no_delete` BEFORE DELETE ON `ledger_transactions`
BEGIN SELECT RAISE(ABORT, 'ledger: transactions are append-only'); END;
