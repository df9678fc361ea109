import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
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
    case 'postgres':
      return SqlMemoryStore.open({ ...section, backend: section.backend }, logger);
  }
}
