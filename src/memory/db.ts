import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type SqliteDatabase as SqliteDialectDatabase } from 'kysely';
import type pg from 'pg';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import { memoryMigrations } from './migrations/index.js';

/** Row shapes as the query layer sees them; both dialects return these (see `int8AsNumber`). */
export interface TurnRow {
  id: string;
  hardware_key: string;
  session_id: string;
  user_text: string;
  assistant_text: string;
  interrupted: number;
  started_at: number;
  ended_at: number;
  provider: string;
  input_tokens: number | null;
  output_tokens: number | null;
}

export interface SummaryRow {
  hardware_key: string;
  summary: string;
  updated_at: number;
}

export interface FactRow {
  hardware_key: string;
  fact_key: string;
  fact: string;
  created_at: number;
}

export interface UsageRow {
  id: string;
  hardware_key: string;
  session_id: string;
  source: string;
  input_tokens: number;
  output_tokens: number;
  model: string;
  at: number;
}

export interface MetaRow {
  name: string;
  value: string;
}

export interface MemoryTables {
  turns: TurnRow;
  summaries: SummaryRow;
  facts: FactRow;
  usage: UsageRow;
  memory_meta: MetaRow;
}

export type MemoryDb = Kysely<MemoryTables>;
export type MemoryDialect = 'sqlite' | 'postgres';

type MemorySection = Config['memory_management'];

/** Where the memory database lives: the `sqlite` or `postgres` part of the config section. */
export type MemoryDbOptions =
  | { readonly backend: 'sqlite'; readonly sqlite: MemorySection['sqlite'] }
  | { readonly backend: 'postgres'; readonly postgres: MemorySection['postgres'] };

export interface OpenedMemoryDb {
  readonly db: MemoryDb;
  readonly dialect: MemoryDialect;
  /** Names of the migrations this open applied (empty when the schema was already current). */
  readonly applied: readonly string[];
}

/**
 * Opens the memory database and brings its schema up to date. Throws AppError `unavailable`
 * when the database cannot be reached or a migration fails; nothing is left open then.
 */
export async function openMemoryDb(options: MemoryDbOptions): Promise<OpenedMemoryDb> {
  const db = options.backend === 'sqlite' ? openSqlite(options.sqlite) : await openPostgres(options.postgres);
  const schema = options.backend === 'postgres' ? options.postgres.schema : undefined;
  try {
    const applied = await migrateMemoryDb(db, schema);
    return { db, dialect: options.backend, applied };
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs every pending migration. Safe to call again: an up-to-date schema applies nothing.
 * `schema` (PostgreSQL only) is where Kysely keeps its bookkeeping tables; it is created when
 * missing, and the connection's search_path already points the memory tables at it.
 */
export async function migrateMemoryDb(db: Kysely<any>, schema?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider: memoryMigrations, migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) throw new AppError('unavailable', 'memory database unavailable', { cause: error });
  return (results ?? []).map((r) => r.migrationName);
}

function openSqlite(options: MemorySection['sqlite']): MemoryDb {
  if (!isSqliteInMemory(options.path)) mkdirSync(dirname(options.path), { recursive: true });
  let database: SqliteDatabase.Database;
  try {
    database = new SqliteDatabase(options.path, { timeout: options.busy_timeout_ms });
  } catch (error) {
    throw new AppError('unavailable', 'memory database unavailable', { cause: error });
  }
  // WAL lets readers run while a turn is being written. synchronous=NORMAL is durable across a
  // process crash or restart (what the server needs); only a power loss can drop the last commit.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  return new Kysely<MemoryTables>({ dialect: new SqliteDialect({ database: keepingStatements(database) }) });
}

/** Prepared statements kept per SQL text; far more than the store's fixed set of queries. */
const SQLITE_STATEMENTS_MAX = 256;

/**
 * The database as Kysely sees it, with each statement prepared once: Kysely prepares every query
 * anew, and on SQLite preparing costs more than running the small queries on a turn's path.
 * Kysely runs one query at a time on its one connection, so a statement is never reused while
 * another call still iterates it. SQLite re-prepares a kept statement itself after a schema change.
 */
function keepingStatements(database: SqliteDatabase.Database): SqliteDialectDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare: (sql) => {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (statements.size >= SQLITE_STATEMENTS_MAX) statements.delete(statements.keys().next().value as string);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

function isSqliteInMemory(path: string): boolean {
  return path === ':memory:' || path.startsWith('file:');
}

async function openPostgres(options: MemorySection['postgres']): Promise<MemoryDb> {
  // Loaded for this backend only: the default (SQLite) server never pays for pg.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.pool_max,
    connectionTimeoutMillis: options.connect_timeout_ms,
    statement_timeout: options.statement_timeout_ms,
    // The schema regex in the config keeps this a plain identifier, safe unquoted.
    options: `-c search_path=${options.schema}`,
    types: { getTypeParser: int8AsNumber(pg.types) },
  });
  // A client losing its server emits 'error'; without a listener that crashes the process.
  // Idle clients: pg-pool re-emits it on the pool. Checked-out clients (a query in flight): pg-pool
  // listens to nothing then, so every client gets a listener of its own. The query in flight
  // rejects with the same error (AppError `unavailable` in the store), and the pool drops the
  // broken client: the next query connects afresh, so the store recovers by itself.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<MemoryTables>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * pg returns bigint columns as strings (they may exceed 2^53). Ours hold epoch milliseconds and
 * counts, far below that, so this pool, and only this pool, reads them as numbers.
 */
const int8AsNumber = (types: typeof pg.types) =>
  ((oid: number, format?: 'text' | 'binary') => {
    if (oid === types.builtins.INT8 && format !== 'binary') return (value: string) => Number(value);
    return types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser;
