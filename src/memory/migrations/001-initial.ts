import type { Kysely, Migration } from 'kysely';

/**
 * The first schema. Portable on purpose (SQLite and PostgreSQL run the same DDL): ids are text
 * UUIDs made in code, timestamps are epoch milliseconds in `bigint`, flags are 0/1 integers.
 */
export const initialMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('turns')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hardware_key', 'text', (c) => c.notNull())
      .addColumn('session_id', 'text', (c) => c.notNull())
      .addColumn('user_text', 'text', (c) => c.notNull())
      .addColumn('assistant_text', 'text', (c) => c.notNull())
      .addColumn('interrupted', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('ended_at', 'bigint', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('input_tokens', 'integer')
      .addColumn('output_tokens', 'integer')
      .execute();
    // The context query: WHERE hardware_key = ? ORDER BY ended_at DESC LIMIT n.
    await db.schema.createIndex('turns_context_idx').on('turns').columns(['hardware_key', 'ended_at desc']).execute();
    // The retention prune: WHERE ended_at < ?.
    await db.schema.createIndex('turns_ended_at_idx').on('turns').column('ended_at').execute();

    await db.schema
      .createTable('summaries')
      .addColumn('hardware_key', 'text', (c) => c.primaryKey())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('facts')
      .addColumn('hardware_key', 'text', (c) => c.notNull())
      // Lowercased, whitespace-collapsed `fact`: "Likes jazz" and "likes  jazz" are one fact.
      .addColumn('fact_key', 'text', (c) => c.notNull())
      .addColumn('fact', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('facts_pk', ['hardware_key', 'fact_key'])
      .execute();

    await db.schema
      .createTable('usage')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hardware_key', 'text', (c) => c.notNull())
      .addColumn('session_id', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('input_tokens', 'integer', (c) => c.notNull())
      .addColumn('output_tokens', 'integer', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('usage_hardware_idx').on('usage').columns(['hardware_key', 'at']).execute();
    await db.schema.createIndex('usage_at_idx').on('usage').column('at').execute();

    // Small key/value table for values the store generates once (the hardware id hash key).
    await db.schema
      .createTable('memory_meta')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['memory_meta', 'usage', 'facts', 'summaries', 'turns']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
