/**
 * The FTS5 virtual table `listings_fts` (created by migrations/0002_marketplace_listings.sql), typed
 * for drizzle so that its writes can join a D1 batch. Kept out of src/platform/db/schema.ts on purpose:
 * drizzle-kit cannot generate a virtual table and must not try.
 */
import { sqliteTable, text } from "drizzle-orm/sqlite-core";

export const listingsFts = sqliteTable("listings_fts", {
  pluginId: text("plugin_id").notNull(),
  name: text("name").notNull(),
  displayName: text("display_name").notNull(),
  summary: text("summary").notNull(),
  description: text("description").notNull(),
  keywords: text("keywords").notNull(),
});
