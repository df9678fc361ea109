import type { Kysely, Migration } from 'kysely';

/**
 * Quota counters and device tokens (issue 11). Same portable DDL as 001: text ids, epoch
 * milliseconds in bigint, hardware ids as the store's keys (hashed unless configured raw).
 */
export const admissionMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // One row per device and period: its answers and model tokens so far. Incremented with an
    // upsert, so instances sharing the database never lose each other's counts.
    await db.schema
      .createTable('quota_usage')
      .addColumn('hardware_key', 'text', (c) => c.notNull())
      .addColumn('period', 'text', (c) => c.notNull())
      .addColumn('period_start', 'bigint', (c) => c.notNull())
      .addColumn('answers', 'bigint', (c) => c.notNull())
      .addColumn('tokens', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_usage_pk', ['hardware_key', 'period', 'period_start'])
      .execute();
    // /status's overview of the current periods and the prune of past ones.
    await db.schema.createIndex('quota_usage_period_idx').on('quota_usage').columns(['period', 'period_start']).execute();

    // Only the SHA-256 of a token is kept: the database alone cannot act as any device.
    await db.schema
      .createTable('device_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('label', 'text', (c) => c.notNull())
      // JSON array of hardware keys, or ["*"] for a token that may act for any device.
      .addColumn('hardware_keys', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('device_tokens').ifExists().execute();
    await db.schema.dropTable('quota_usage').ifExists().execute();
  },
};
