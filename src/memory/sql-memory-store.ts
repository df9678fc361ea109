import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { AppError, throwIfAborted } from '../errors.js';
import { openMemoryDb, type MemoryDb, type MemoryDialect } from './db.js';
import { resolveHardwareKey, type HardwareKeyFn } from './hardware-key.js';
import { maskSecrets } from './mask-secrets.js';
import type { ContextBudget, MemoryBackend, MemoryContext, PruneResult, TurnRecord, UsageRecord } from './store.js';
import { turnsToMessages } from './turn-messages.js';

/** The memory_management section, for one of the SQL backends. */
export type SqlMemorySection = Config['memory_management'] & { readonly backend: MemoryDialect };

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Conversation memory in SQLite or PostgreSQL: the same queries (Kysely) on both. Text is
 * masked for secrets before it is written; hardware ids are stored as keyed hashes unless the
 * config says otherwise. Database failures surface as AppError `unavailable`.
 */
export class SqlMemoryStore implements MemoryBackend {
  readonly name: MemoryDialect;
  readonly #db: MemoryDb;
  readonly #keyOf: HardwareKeyFn;
  readonly #section: SqlMemorySection;
  #closed = false;

  readonly #contextQueries: ContextQueries;

  private constructor(db: MemoryDb, dialect: MemoryDialect, keyOf: HardwareKeyFn, section: SqlMemorySection) {
    this.#db = db;
    this.name = dialect;
    this.#keyOf = keyOf;
    this.#section = section;
    this.#contextQueries = compileContextQueries(db);
  }

  /** Opens the database, runs pending migrations and resolves the hardware id hash key. */
  static async open(section: SqlMemorySection, logger?: Logger): Promise<SqlMemoryStore> {
    const opened = await openMemoryDb(section);
    try {
      const keyOf = await resolveHardwareKey(opened.db, {
        storeRaw: section.store_raw_hardware_id,
        hashKey: section.hardware_id_hash_key,
      });
      logger?.info({ backend: opened.dialect, migrations: opened.applied, hashedIds: !section.store_raw_hardware_id }, 'memory store opened');
      return new SqlMemoryStore(opened.db, opened.dialect, keyOf, section);
    } catch (error) {
      await opened.db.destroy().catch(() => undefined);
      throw unavailable(error);
    }
  }

  /**
   * The user's recent turns within `budget`, the rolling summary and the facts. Two indexed
   * queries: turns by (hardware_key, ended_at desc) with a LIMIT, and summary + facts in one
   * UNION by their keys.
   */
  async context(hardwareId: string, budget: ContextBudget, signal?: AbortSignal): Promise<MemoryContext> {
    if (signal) throwIfAborted(signal);
    const key = this.#keyOf(hardwareId);
    const { turns: turnsQuery, notes: notesQuery } = this.#contextQueries;
    const [turns, notes] = await this.#run(() =>
      Promise.all([
        budget.maxTurns > 0 && budget.maxChars > 0
          ? this.#db.executeQuery(turnsQuery.bind(key, budget.maxTurns)).then((r) => r.rows)
          : Promise.resolve([]),
        this.#db.executeQuery(notesQuery.bind(key, 0)).then((r) => r.rows),
      ]),
    );
    if (signal) throwIfAborted(signal);
    const messages = turnsToMessages(
      turns.map((t) => ({ userText: t.user_text, assistantText: t.assistant_text, interrupted: t.interrupted !== 0 })),
      budget,
      this.#section.interrupted_marker,
    );
    return {
      messages,
      summary: notes.find((n) => n.kind === 'summary')?.text ?? '',
      facts: notes.filter((n) => n.kind === 'fact').map((n) => n.text),
    };
  }

  /** Stores one finished turn; `assistantText` must already be only what was heard. */
  async saveTurn(turn: TurnRecord): Promise<void> {
    await this.#run(() =>
      this.#db
        .insertInto('turns')
        .values({
          ...this.#newRow(turn),
          user_text: maskSecrets(turn.userText),
          assistant_text: maskSecrets(turn.assistantText),
          interrupted: turn.interrupted ? 1 : 0,
          started_at: turn.startedAt.getTime(),
          ended_at: turn.endedAt.getTime(),
          provider: turn.provider,
          input_tokens: turn.inputTokens ?? null,
          output_tokens: turn.outputTokens ?? null,
        })
        .execute(),
    );
  }

  async saveUsage(usage: UsageRecord): Promise<void> {
    await this.#run(() =>
      this.#db
        .insertInto('usage')
        .values({
          ...this.#newRow(usage),
          source: usage.source,
          input_tokens: usage.inputTokens,
          output_tokens: usage.outputTokens,
          model: usage.model,
          at: usage.at.getTime(),
        })
        .execute(),
    );
  }

  /** Removes every turn, fact, summary and usage record of the id, all or nothing. */
  async forget(hardwareId: string): Promise<void> {
    const key = this.#keyOf(hardwareId);
    await this.#run(() =>
      this.#db.transaction().execute(async (trx) => {
        for (const table of ['turns', 'summaries', 'facts', 'usage'] as const) {
          await trx.deleteFrom(table).where('hardware_key', '=', key).execute();
        }
      }),
    );
  }

  async addFacts(hardwareId: string, facts: readonly string[]): Promise<void> {
    const cleaned = new Map<string, string>();
    for (const raw of facts) {
      const fact = cut(maskSecrets(raw).replace(/\s+/gu, ' ').trim(), this.#section.fact_max_chars);
      if (fact !== '') cleaned.set(fact.toLowerCase(), fact);
    }
    if (cleaned.size === 0) return;
    const key = this.#keyOf(hardwareId);
    await this.#run(() =>
      this.#db.transaction().execute(async (trx) => {
        // created_at orders facts for eviction, so it must be strictly increasing per id even
        // when two batches land in the same millisecond: one millisecond apart, after the newest.
        const newest = await trx.selectFrom('facts').select((eb) => eb.fn.max('created_at').as('at')).where('hardware_key', '=', key).executeTakeFirst();
        const base = Math.max(Date.now(), Number(newest?.at ?? 0) + 1);
        const rows = [...cleaned].map(([factKey, fact], i) => ({ hardware_key: key, fact_key: factKey, fact, created_at: base + i }));
        // A fact said again is fresh again: it moves to the end of the eviction queue.
        await trx
          .insertInto('facts')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['hardware_key', 'fact_key']).doUpdateSet((eb) => ({
              fact: eb.ref('excluded.fact'),
              created_at: eb.ref('excluded.created_at'),
            })),
          )
          .execute();
        const kept = await trx
          .selectFrom('facts')
          .select('fact_key')
          .where('hardware_key', '=', key)
          .orderBy('created_at', 'desc')
          .orderBy('fact_key')
          .execute();
        const dropped = kept.slice(this.#section.max_facts).map((r) => r.fact_key);
        if (dropped.length > 0) {
          await trx.deleteFrom('facts').where('hardware_key', '=', key).where('fact_key', 'in', dropped).execute();
        }
      }),
    );
  }

  async setSummary(hardwareId: string, summary: string): Promise<void> {
    const key = this.#keyOf(hardwareId);
    const text = cut(maskSecrets(summary).trim(), this.#section.summary_max_chars);
    await this.#run(async () => {
      if (text === '') {
        await this.#db.deleteFrom('summaries').where('hardware_key', '=', key).execute();
        return;
      }
      await this.#db
        .insertInto('summaries')
        .values({ hardware_key: key, summary: text, updated_at: Date.now() })
        .onConflict((oc) =>
          oc.column('hardware_key').doUpdateSet((eb) => ({ summary: eb.ref('excluded.summary'), updated_at: eb.ref('excluded.updated_at') })),
        )
        .execute();
    });
  }

  /** Retention of 0 days keeps that kind of record forever. */
  async prune(now: Date): Promise<PruneResult> {
    const { turn_retention_days: turnDays, usage_retention_days: usageDays } = this.#section;
    return this.#run(async () => {
      let turns = 0;
      let usage = 0;
      if (turnDays > 0) {
        const result = await this.#db.deleteFrom('turns').where('ended_at', '<', now.getTime() - turnDays * DAY_MS).executeTakeFirst();
        turns = Number(result.numDeletedRows);
      }
      if (usageDays > 0) {
        const result = await this.#db.deleteFrom('usage').where('at', '<', now.getTime() - usageDays * DAY_MS).executeTakeFirst();
        usage = Number(result.numDeletedRows);
      }
      return { turns, usage };
    });
  }

  /**
   * The open database and its id → key mapping, for the tables other modules keep beside the
   * memory (quota counters, device tokens): one connection pool, one hashing of hardware ids.
   */
  get database(): { readonly db: MemoryDb; readonly keyOf: HardwareKeyFn } {
    return { db: this.#db, keyOf: this.#keyOf };
  }

  /** Readiness: undefined when the database answers a trivial query, else why not. */
  async ping(): Promise<string | undefined> {
    if (this.#closed) return 'memory store is closed';
    try {
      await sql`select 1`.execute(this.#db);
      return undefined;
    } catch {
      return 'memory database unavailable';
    }
  }

  /** Closes the database (SQLite checkpoints its WAL; PostgreSQL ends the pool). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.destroy();
  }

  /** The columns every turn and usage row starts with: a fresh id, the hashed device, the session. */
  #newRow(record: { readonly hardwareId: string; readonly sessionId: string }): { id: string; hardware_key: string; session_id: string } {
    return { id: randomUUID(), hardware_key: this.#keyOf(record.hardwareId), session_id: record.sessionId };
  }

  async #run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new AppError('unavailable', 'memory store is closed');
    try {
      return await operation();
    } catch (error) {
      throw unavailable(error);
    }
  }
}

/** A query compiled once; `bind` fills in the hardware key and the row limit of one call. */
interface PreparedQuery<Row> {
  bind(key: string, limit: number): CompiledQuery<Row>;
}

interface ContextQueries {
  readonly turns: PreparedQuery<{ user_text: string; assistant_text: string; interrupted: number }>;
  readonly notes: PreparedQuery<{ kind: string; text: string; at: number }>;
}

// Stand-ins compiled into the queries' parameter lists, replaced by the call's own values.
const KEY_PARAMETER = '\u0000hardware_key';
const LIMIT_PARAMETER = 2_147_483_647;

/**
 * The context queries, built and compiled at open: building and compiling a Kysely query costs
 * more than running it on SQLite, and the context is on every turn's path to the model.
 */
function compileContextQueries(db: MemoryDb): ContextQueries {
  const prepared = <Row>(query: { compile(): CompiledQuery<Row> }): PreparedQuery<Row> => {
    const compiled = query.compile();
    return {
      bind: (key, limit) =>
        CompiledQuery.raw(
          compiled.sql,
          compiled.parameters.map((p) => (p === KEY_PARAMETER ? key : p === LIMIT_PARAMETER ? limit : p)),
        ) as CompiledQuery<Row>,
    };
  };
  return {
    turns: prepared(
      db
        .selectFrom('turns')
        .select(['user_text', 'assistant_text', 'interrupted'])
        .where('hardware_key', '=', KEY_PARAMETER)
        .orderBy('ended_at', 'desc')
        .limit(LIMIT_PARAMETER),
    ),
    notes: prepared(
      db
        .selectFrom('summaries')
        .select([sql<string>`'summary'`.as('kind'), 'summary as text', 'updated_at as at'])
        .where('hardware_key', '=', KEY_PARAMETER)
        .unionAll(
          db
            .selectFrom('facts')
            .select([sql<string>`'fact'`.as('kind'), 'fact as text', 'created_at as at'])
            .where('hardware_key', '=', KEY_PARAMETER),
        )
        .orderBy('at'),
    ),
  };
}

function unavailable(error: unknown): AppError {
  return error instanceof AppError ? error : new AppError('unavailable', 'memory database unavailable', { cause: error });
}

/** Cuts to `max` UTF-16 units without leaving half a surrogate pair at the end. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return text.slice(0, end).trimEnd();
}
