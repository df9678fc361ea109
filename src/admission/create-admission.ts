import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { TokenAuth } from '../auth/token-auth.js';
import { TokenStore } from '../auth/token-store.js';
import type { Config } from '../config/schema.js';
import { SqlMemoryStore } from '../memory/sql-memory-store.js';
import type { MemoryBackend, UsageRecord } from '../memory/store.js';
import { AdmissionMetrics } from './admission-metrics.js';
import { CallGuard } from './call-guard.js';
import { systemClock, type AdmissionClock } from './clock.js';
import { InProcessQuotaStore, SqlQuotaStore } from './quota-store.js';
import { Quotas } from './quotas.js';

/** The source of the usage records a turn saves from its provider's own counts (src/pipeline). */
const TURN_USAGE_SOURCE = 'server';

export interface Admission {
  readonly guard: CallGuard;
  readonly quotas?: Quotas;
  /** `memory` with the turns' token counts also going to the quotas. */
  readonly memory: MemoryBackend;
  /** For /status. */
  status(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface AdmissionDeps {
  readonly memory: MemoryBackend;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Time of buckets, token cache, quota periods and the stream duration limit; tests move it. */
  readonly clock?: AdmissionClock;
}

/**
 * Builds limits, quotas and device-token auth from config. Quota counters and tokens live in
 * the memory database when there is one; with backend `none` quotas count in this process
 * (and auth.mode token is refused by the config schema).
 */
export function createAdmission(config: Config, deps: AdmissionDeps): Admission {
  const clock = deps.clock ?? systemClock;
  const now = () => clock.now();
  const metrics = new AdmissionMetrics(deps.registry);
  const database = deps.memory instanceof SqlMemoryStore ? deps.memory.database : undefined;

  let auth: TokenAuth | undefined;
  if (config.auth.mode === 'token') {
    if (database === undefined) throw new Error('auth.mode token needs the memory database (sqlite or postgres)');
    const store = new TokenStore(database.db, database.keyOf);
    auth = new TokenAuth({ section: config.auth, store, now });
  }

  let quotas: Quotas | undefined;
  if (config.quotas.enabled) {
    const store =
      database !== undefined
        ? new SqlQuotaStore(database.db, database.keyOf, deps.memory.name)
        : new InProcessQuotaStore(config.quotas.max_devices_in_process);
    quotas = new Quotas({ section: config.quotas, store, metrics, logger: deps.logger, now });
  }

  const guard = new CallGuard({ limits: config.limits, metrics, logger: deps.logger, clock, auth, quotas });
  return {
    guard,
    quotas,
    memory: quotas ? countingTurnTokens(deps.memory, quotas, deps.logger) : deps.memory,
    status: async () => ({
      auth: config.auth.mode,
      limits: guard.status(),
      quotas: quotas ? await quotas.status() : { enabled: false },
    }),
    close: async () => {
      await quotas?.close();
    },
  };
}

/**
 * The memory store, except that each turn's token counts (saved as usage with source
 * `server`) are added to the device's quota as well. What clients report with ReportUsage and
 * what the memory updater spends are not counted: the quota is about the device's answers.
 */
function countingTurnTokens(memory: MemoryBackend, quotas: Quotas, logger: Logger): MemoryBackend {
  const saveUsage = (usage: UsageRecord): Promise<void> => {
    if (usage.source === TURN_USAGE_SOURCE) quotas.recordTokens(usage.hardwareId, usage.inputTokens + usage.outputTokens, logger);
    return memory.saveUsage(usage);
  };
  // A proxy, not a subclass or a copy: the store's methods use private fields, so every other
  // member must still run with the store itself as `this`.
  return new Proxy(memory, {
    get(target, property) {
      if (property === 'saveUsage') return saveUsage;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
