import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { MemoryInterruptHub, type InterruptHub } from '../interrupts/interrupt-hub.js';
import { RedisInterruptHub } from '../interrupts/redis-interrupt-hub.js';
import { MemoryCollectStore, type CollectStore } from './collect-store.js';
import { RedisCollectStore } from './redis-collect-store.js';
import { MemorySessionRegistry, type SessionRegistry } from './session-registry.js';
import { RedisSessionRegistry } from './redis-session-registry.js';

/** The session side of the server: COLLECT buffers, single-flight leases, interrupts. */
export interface SessionBackend {
  readonly name: 'memory' | 'redis';
  readonly collectStore: CollectStore;
  readonly registry: SessionRegistry;
  readonly interrupts: InterruptHub;
  /** Readiness: undefined when usable, else what is wrong. */
  ping(): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * Builds the backend `session_management.backend` names, for the composition root: `memory` for
 * one process, `redis` so that several instances share buffers, leases and interrupts.
 */
export async function createSessionBackend(section: Config['session_management'], logger: Logger): Promise<SessionBackend> {
  if (section.backend === 'memory') {
    const collectStore = new MemoryCollectStore({
      ttlMs: section.collect_ttl_ms,
      sweepIntervalMs: section.collect_sweep_interval_ms,
      maxBuffers: section.collect_max_buffers,
      maxTextChars: section.collect_max_text_chars,
      maxTotalBytes: section.collect_max_total_bytes,
    });
    collectStore.start();
    return {
      name: 'memory',
      collectStore,
      registry: new MemorySessionRegistry(),
      interrupts: new MemoryInterruptHub(),
      ping: async () => undefined,
      close: () => collectStore.close(),
    };
  }

  const r = section.redis;
  // Loaded for this backend only: a single-process server never pays for ioredis.
  const { Redis } = await import('ioredis');
  const connect = () =>
    new Redis(r.url, { lazyConnect: true, connectTimeout: r.connect_timeout_ms, maxRetriesPerRequest: r.max_retries_per_request });
  const commands = connect();
  const subscriber = connect();
  try {
    await Promise.all([commands.connect(), subscriber.connect()]);
  } catch (error) {
    commands.disconnect();
    subscriber.disconnect();
    throw error;
  }
  const registry = new RedisSessionRegistry(commands, { keyPrefix: r.key_prefix, leaseTtlMs: r.lease_ttl_ms });
  const interrupts = new RedisInterruptHub(commands, subscriber, {
    channel: `${r.key_prefix}interrupts`,
    activeSessions: (hardwareId) => registry.active(hardwareId),
    logger,
  });
  await interrupts.start();
  logger.info({ backend: 'redis', key_prefix: r.key_prefix }, 'session backend connected');
  return {
    name: 'redis',
    collectStore: new RedisCollectStore(commands, {
      keyPrefix: r.key_prefix,
      ttlMs: section.collect_ttl_ms,
      maxBuffers: section.collect_max_buffers,
      maxTextChars: section.collect_max_text_chars,
      maxWriteAttempts: r.max_write_attempts,
    }),
    registry,
    interrupts,
    ping: async () => ((await commands.ping().catch(() => 'down')) === 'PONG' ? undefined : 'redis does not answer'),
    close: async () => {
      registry.close();
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}
