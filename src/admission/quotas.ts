import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { AdmissionMetrics } from './admission-metrics.js';
import { periodBounds, QUOTA_EXCEEDED_WORDS, QUOTA_PERIODS, type QuotaPeriod } from './quota-periods.js';
import type { PeriodOverview, PeriodStarts, QuotaStore, QuotaUsage } from './quota-store.js';

export interface QuotasOptions {
  readonly section: Config['quotas'];
  readonly store: QuotaStore;
  readonly metrics: AdmissionMetrics;
  readonly logger: Logger;
  /** Epoch milliseconds; tests pass a clock they move across day, week and month ends. */
  readonly now: () => number;
}

const RESOURCES = ['answers', 'tokens'] as const;
const PERIOD_NOUN: Readonly<Record<QuotaPeriod, string>> = { day: 'today', week: 'this week', month: 'this month' };

/**
 * Answers and model tokens per hardware id per day, week and month. `check` runs before a turn
 * (refusing with the words deployed clients look for), `record*` after it; writes go on in the
 * background and `close` waits for them.
 */
export class Quotas {
  readonly #options: QuotasOptions;
  readonly #unlimited: ReadonlySet<string>;
  readonly #pending = new Set<Promise<void>>();
  readonly #pruner: NodeJS.Timeout;

  constructor(options: QuotasOptions) {
    this.#options = options;
    this.#unlimited = new Set(options.section.unlimited_hardware_ids);
    for (const period of QUOTA_PERIODS) {
      for (const resource of RESOURCES) options.metrics.quotaLimit.set({ period, resource }, options.section[period][resource]);
    }
    this.#pruner = setInterval(() => this.#prune(), options.section.prune_interval_ms).unref();
  }

  /** Throws AppError `limit` ("daily limit exceeded: …") when a quota of the device is used up. */
  async check(hardwareId: string, log: Logger): Promise<void> {
    const { section, store, metrics } = this.#options;
    if (this.#unlimited.has(hardwareId)) return;
    let usage: QuotaUsage | 'timeout';
    let timer: NodeJS.Timeout | undefined;
    try {
      usage = await Promise.race([
        store.usage(hardwareId, this.#starts()),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), section.check_timeout_ms))),
      ]);
    } catch (error) {
      // A quota database outage must not silence every device: the answer goes on, counted.
      metrics.quotaCheckFailures.inc();
      log.warn({ err: error }, 'quota check failed; the answer goes on');
      return;
    } finally {
      clearTimeout(timer);
    }
    if (usage === 'timeout') {
      metrics.quotaCheckFailures.inc();
      log.warn({ budget_ms: section.check_timeout_ms }, 'quota check timed out; the answer goes on');
      return;
    }
    let exceeded: { period: QuotaPeriod; resource: (typeof RESOURCES)[number]; used: number; limit: number } | undefined;
    for (const period of QUOTA_PERIODS) {
      for (const resource of RESOURCES) {
        const limit = section[period][resource];
        if (limit <= 0) continue;
        const used = usage[period][resource];
        metrics.quotaUsageRatio.observe({ period, resource }, Math.min(used / limit, 1));
        // The longest period wins: its reset is the one the user waits for.
        if (used >= limit) exceeded = { period, resource, used, limit };
      }
    }
    if (exceeded === undefined) return;
    const { period, resource, used, limit } = exceeded;
    metrics.limitExceeded.inc({ rpc: 'StreamAudio', limit: `quota_${period}` });
    const resetsAt = new Date(periodBounds(period, this.#options.now()).end).toISOString();
    throw new AppError(
      'limit',
      `${QUOTA_EXCEEDED_WORDS[period]}: ${Math.min(used, limit)} of ${limit} ${resource === 'answers' ? 'answers' : 'model tokens'} used ${PERIOD_NOUN[period]}; resets at ${resetsAt}`,
      { retryable: false },
    );
  }

  /** One answer (a COMMIT turn that sent something) for the device's counters. */
  recordAnswer(hardwareId: string, log: Logger): void {
    this.#add(hardwareId, { answers: 1, tokens: 0 }, log);
  }

  /** Model tokens (input + output) the provider reported for one of the device's turns. */
  recordTokens(hardwareId: string, tokens: number, log: Logger): void {
    if (tokens > 0) this.#add(hardwareId, { answers: 0, tokens }, log);
  }

  /** Limits and the current periods across devices, for /status. */
  async status(): Promise<Record<string, unknown>> {
    const { section, store } = this.#options;
    const limits = { day: section.day, week: section.week, month: section.month };
    let usage: Record<QuotaPeriod, PeriodOverview> | { error: string };
    let timer: NodeJS.Timeout | undefined;
    try {
      // /status must answer when the database does not.
      usage = await Promise.race([
        store.overview(this.#starts(), limits, [...this.#unlimited]),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), section.status_timeout_ms))),
      ]);
    } catch {
      usage = { error: 'quota database unavailable' };
    } finally {
      clearTimeout(timer);
    }
    return { enabled: section.enabled, store: store.name, limits, unlimited_devices: this.#unlimited.size, usage };
  }

  /** Resolves when every counter write started so far has finished (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  /** Stops the prune timer and waits for counter writes still running. */
  async close(): Promise<void> {
    clearInterval(this.#pruner);
    await this.flush();
  }

  #starts(): PeriodStarts {
    const now = this.#options.now();
    return { day: periodBounds('day', now).start, week: periodBounds('week', now).start, month: periodBounds('month', now).start };
  }

  #add(hardwareId: string, delta: { answers: number; tokens: number }, log: Logger): void {
    const write = this.#options.store
      .add(hardwareId, this.#starts(), delta, this.#options.now())
      .catch((error: unknown) => log.warn({ err: error }, 'counting quota usage failed'))
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }

  /** Past periods' counters: everything that started before the current week and month. */
  #prune(): void {
    const starts = this.#starts();
    this.#options.store.prune(Math.min(starts.week, starts.month)).then(
      (pruned) => this.#options.logger.debug({ pruned }, 'quota counters pruned'),
      (error: unknown) => this.#options.logger.warn({ err: error }, 'quota prune failed'),
    );
  }
}
