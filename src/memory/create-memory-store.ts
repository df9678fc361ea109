import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { AppError, ServiceUnreachableError } from '../errors.js';
import { maskUrl } from '../observability/mask-url.js';
import type { LlmProvider } from '../llm/provider.js';
import { LongTermUpdater } from './long-term-updater.js';
import { NoneMemoryStore } from './none-memory-store.js';
import { SqlMemoryStore } from './sql-memory-store.js';
import type { MemoryBackend } from './store.js';

/**
 * Builds the memory backend named by `section.backend`: the one place that decides. For the SQL
 * backends the database is opened and migrated before this resolves; it rejects with AppError
 * `unavailable` when that fails. The caller owns the result and must `close()` it.
 */
export async function createMemoryStore(section: Config['memory_management'], logger?: Logger): Promise<MemoryBackend> {
  switch (section.backend) {
    case 'none':
      logger?.info({ backend: 'none' }, 'memory store opened');
      return new NoneMemoryStore();
    case 'sqlite':
      return SqlMemoryStore.open({ ...section, backend: section.backend }, logger);
    case 'postgres':
      // An unreachable database at start is one clear line (service, masked URL) and exit 1.
      return SqlMemoryStore.open({ ...section, backend: section.backend }, logger).catch((error: unknown) => {
        throw error instanceof AppError && error.kind === 'unavailable'
          ? new ServiceUnreachableError('postgresql', maskUrl(section.postgres.url), error.cause ?? error)
          : error;
      });
  }
}

/**
 * The long-term-memory updater for `store`, or undefined when it is disabled or nothing is
 * stored (`backend: none`). `llm` is the model it may ask; undefined when there is no real one.
 */
export function createLongTermUpdater(
  section: Config['memory_management'],
  deps: { readonly store: MemoryBackend; readonly llm?: LlmProvider; readonly logger: Logger },
): LongTermUpdater | undefined {
  if (!section.updater.enabled || section.backend === 'none') return undefined;
  const updater = new LongTermUpdater({ store: deps.store, llm: deps.llm, logger: deps.logger, settings: section.updater });
  deps.logger.info({ method: updater.method, llm: deps.llm?.name }, 'memory updater ready');
  return updater;
}

/** The server's memory: the store, pruned on a timer, and the long-term-memory updater learning from it. */
export interface Memory {
  readonly store: MemoryBackend;
  readonly updater?: LongTermUpdater;
  /** Stops the pruning and closes the store (the updater is stopped before, by the shutdown). */
  close(): Promise<void>;
}

/**
 * Opens the store `section` names (see {@link createMemoryStore}), prunes it every
 * `prune_interval_ms`, and adds the updater (see {@link createLongTermUpdater}) asking `updaterLlm`.
 */
export async function openMemory(section: Config['memory_management'], deps: { readonly logger: Logger; readonly updaterLlm?: LlmProvider }): Promise<Memory> {
  const { logger } = deps;
  const store = await createMemoryStore(section, logger);
  const pruner = setInterval(() => {
    store.prune(new Date()).then(
      (pruned) => logger.info({ pruned }, 'memory pruned'),
      (error: unknown) => logger.warn({ err: error }, 'memory prune failed'),
    );
  }, section.prune_interval_ms).unref();
  const close = async () => {
    clearInterval(pruner);
    await store.close();
  };
  try {
    return { store, updater: createLongTermUpdater(section, { store, llm: deps.updaterLlm, logger }), close };
  } catch (error) {
    await close();
    throw error;
  }
}
