import { sql } from 'kysely';
import { AppError } from '../errors.js';
import { admissionDb, type AdmissionDb } from '../memory/admission-tables.js';
import type { MemoryDb } from '../memory/db.js';
import type { HardwareKeyFn } from '../memory/hardware-key.js';
import { QUOTA_PERIODS, type QuotaPeriod } from './quota-periods.js';

export interface PeriodUsage {
  readonly answers: number;
  readonly tokens: number;
}

export type QuotaUsage = Readonly<Record<QuotaPeriod, PeriodUsage>>;
/** The start (epoch ms) of each current period. */
export type PeriodStarts = Readonly<Record<QuotaPeriod, number>>;
export type QuotaLimits = Readonly<Record<QuotaPeriod, PeriodUsage>>;

/** One current period across every device: for /status. */
export interface PeriodOverview {
  readonly devices: number;
  readonly answers: number;
  readonly tokens: number;
  /** Devices that reached a limit of the period (a 0 limit is none). */
  readonly at_limit: number;
}

const ZERO: PeriodUsage = Object.freeze({ answers: 0, tokens: 0 });

/** Where quota counters live: the memory database, or this process (backend `none`). */
export interface QuotaStore {
  readonly name: string;
  usage(hardwareId: string, starts: PeriodStarts): Promise<QuotaUsage>;
  /** Adds to the device's counters of every current period. */
  add(hardwareId: string, starts: PeriodStarts, delta: PeriodUsage, nowMs: number): Promise<void>;
  /** `unlimited` devices are counted in the totals but never as at their limit. */
  overview(starts: PeriodStarts, limits: QuotaLimits, unlimited: readonly string[]): Promise<Record<QuotaPeriod, PeriodOverview>>;
  /** Deletes counters of periods that started before `before`. */
  prune(before: number): Promise<number>;
}

/** Counters in the memory database (SQLite or PostgreSQL): survive restarts, shared by instances. */
export class SqlQuotaStore implements QuotaStore {
  readonly name: string;
  readonly #db: AdmissionDb;
  readonly #keyOf: HardwareKeyFn;

  constructor(db: MemoryDb, keyOf: HardwareKeyFn, name: string) {
    this.#db = admissionDb(db);
    this.#keyOf = keyOf;
    this.name = name;
  }

  async usage(hardwareId: string, starts: PeriodStarts): Promise<QuotaUsage> {
    const key = this.#keyOf(hardwareId);
    const rows = await run(() =>
      this.#db
        .selectFrom('quota_usage')
        .select(['period', 'period_start', 'answers', 'tokens'])
        .where('hardware_key', '=', key)
        .where((eb) => eb.or(QUOTA_PERIODS.map((p) => eb.and([eb('period', '=', p), eb('period_start', '=', starts[p])]))))
        .execute(),
    );
    const usage: Record<QuotaPeriod, PeriodUsage> = { day: ZERO, week: ZERO, month: ZERO };
    for (const row of rows) usage[row.period as QuotaPeriod] = { answers: Number(row.answers), tokens: Number(row.tokens) };
    return usage;
  }

  async add(hardwareId: string, starts: PeriodStarts, delta: PeriodUsage, nowMs: number): Promise<void> {
    if (delta.answers === 0 && delta.tokens === 0) return;
    const key = this.#keyOf(hardwareId);
    await run(() =>
      this.#db
        .insertInto('quota_usage')
        .values(
          QUOTA_PERIODS.map((period) => ({
            hardware_key: key,
            period,
            period_start: starts[period],
            answers: delta.answers,
            tokens: delta.tokens,
            updated_at: nowMs,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['hardware_key', 'period', 'period_start']).doUpdateSet((eb) => ({
            answers: eb('quota_usage.answers', '+', eb.ref('excluded.answers')),
            tokens: eb('quota_usage.tokens', '+', eb.ref('excluded.tokens')),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute(),
    );
  }

  async overview(starts: PeriodStarts, limits: QuotaLimits, unlimited: readonly string[]): Promise<Record<QuotaPeriod, PeriodOverview>> {
    const result = {} as Record<QuotaPeriod, PeriodOverview>;
    // An empty IN list is not valid SQL; a key no device can have stands in for none.
    const exempt = unlimited.length > 0 ? unlimited.map((id) => this.#keyOf(id)) : [''];
    for (const period of QUOTA_PERIODS) {
      const limit = limits[period];
      // A limit of 0 is none: the comparison is made false rather than matching every row.
      const answersLimit = limit.answers > 0 ? limit.answers : Number.MAX_SAFE_INTEGER;
      const tokensLimit = limit.tokens > 0 ? limit.tokens : Number.MAX_SAFE_INTEGER;
      const row = await run(() =>
        this.#db
          .selectFrom('quota_usage')
          .select([
            sql<number>`count(*)`.as('devices'),
            sql<number>`coalesce(sum(answers), 0)`.as('answers'),
            sql<number>`coalesce(sum(tokens), 0)`.as('tokens'),
            sql<number>`coalesce(sum(case when (answers >= ${answersLimit} or tokens >= ${tokensLimit}) and hardware_key not in (${sql.join(exempt)}) then 1 else 0 end), 0)`.as('at_limit'),
          ])
          .where('period', '=', period)
          .where('period_start', '=', starts[period])
          .executeTakeFirstOrThrow(),
      );
      result[period] = { devices: Number(row.devices), answers: Number(row.answers), tokens: Number(row.tokens), at_limit: Number(row.at_limit) };
    }
    return result;
  }

  async prune(before: number): Promise<number> {
    const result = await run(() => this.#db.deleteFrom('quota_usage').where('period_start', '<', before).executeTakeFirst());
    return Number(result.numDeletedRows);
  }
}

async function run<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw error instanceof AppError ? error : new AppError('unavailable', 'quota database unavailable', { cause: error });
  }
}

/**
 * Counters in this process (memory backend `none`): lost on restart, not shared between
 * instances. At most `maxDevices` devices are kept; the least recently counted go first.
 */
export class InProcessQuotaStore implements QuotaStore {
  readonly name = 'in-process';
  readonly #devices = new Map<string, Map<string, { answers: number; tokens: number }>>();
  readonly #maxDevices: number;

  constructor(maxDevices: number) {
    this.#maxDevices = maxDevices;
  }

  async usage(hardwareId: string, starts: PeriodStarts): Promise<QuotaUsage> {
    const counters = this.#devices.get(hardwareId);
    const usage: Record<QuotaPeriod, PeriodUsage> = { day: ZERO, week: ZERO, month: ZERO };
    for (const period of QUOTA_PERIODS) {
      const c = counters?.get(`${period}:${starts[period]}`);
      if (c) usage[period] = { ...c };
    }
    return usage;
  }

  async add(hardwareId: string, starts: PeriodStarts, delta: PeriodUsage): Promise<void> {
    let counters = this.#devices.get(hardwareId);
    this.#devices.delete(hardwareId);
    counters ??= new Map();
    this.#devices.set(hardwareId, counters);
    for (const period of QUOTA_PERIODS) {
      const key = `${period}:${starts[period]}`;
      const c = counters.get(key) ?? { answers: 0, tokens: 0 };
      c.answers += delta.answers;
      c.tokens += delta.tokens;
      counters.set(key, c);
    }
    for (const id of this.#devices.keys()) {
      if (this.#devices.size <= this.#maxDevices) break;
      this.#devices.delete(id);
    }
  }

  async overview(starts: PeriodStarts, limits: QuotaLimits, unlimited: readonly string[]): Promise<Record<QuotaPeriod, PeriodOverview>> {
    const result = {} as Record<QuotaPeriod, PeriodOverview>;
    const exempt = new Set(unlimited);
    for (const period of QUOTA_PERIODS) {
      let devices = 0;
      let answers = 0;
      let tokens = 0;
      let atLimit = 0;
      const limit = limits[period];
      for (const [id, counters] of this.#devices) {
        const c = counters.get(`${period}:${starts[period]}`);
        if (!c) continue;
        devices++;
        answers += c.answers;
        tokens += c.tokens;
        if (exempt.has(id)) continue;
        if ((limit.answers > 0 && c.answers >= limit.answers) || (limit.tokens > 0 && c.tokens >= limit.tokens)) atLimit++;
      }
      result[period] = { devices, answers, tokens, at_limit: atLimit };
    }
    return result;
  }

  async prune(before: number): Promise<number> {
    let pruned = 0;
    for (const [id, counters] of this.#devices) {
      for (const key of counters.keys()) {
        if (Number(key.slice(key.indexOf(':') + 1)) < before) {
          counters.delete(key);
          pruned++;
        }
      }
      if (counters.size === 0) this.#devices.delete(id);
    }
    return pruned;
  }
}
