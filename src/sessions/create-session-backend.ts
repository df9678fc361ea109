import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { MemoryInterruptHub, type InterruptHub } from './interrupt-hub.js';
import { MemoryCollectStore, type CollectStore } from './collect-store.js';
import { maskUrl } from '../observability/mask-url.js';
import { MemorySessionRegistry, type SessionRegistry } from './session-registry.js';

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
  const [{ connectRedis, createRedisClient }, { RedisCollectStore }, { RedisSessionRegistry }, { RedisInterruptHub }] = await Promise.all([
    import('./redis-connection.js'),
    import('./redis-collect-store.js'),
    import('./redis-session-registry.js'),
    import('./redis-interrupt-hub.js'),
  ]);
  const connect = (role: string) =>
    createRedisClient(
      {
        url: r.url,
        connectTimeoutMs: r.connect_timeout_ms,
        commandTimeoutMs: r.command_timeout_ms,
        maxRetriesPerRequest: r.max_retries_per_request,
        reconnectMaxDelayMs: r.reconnect_max_delay_ms,
        role,
      },
      logger,
    );
  const commands = connect('commands');
  const subscriber = connect('subscriber');
  const connected = await Promise.allSettled([connectRedis(commands, r.url), connectRedis(subscriber, r.url)]);
  const failed = connected.find((c) => c.status === 'rejected');
  if (failed) {
    commands.disconnect();
    subscriber.disconnect();
    throw failed.reason;
  }
  const registry = new RedisSessionRegistry(commands, { keyPrefix: r.key_prefix, leaseTtlMs: r.lease_ttl_ms, logger });
  const interrupts = new RedisInterruptHub(commands, subscriber, {
    channel: `${r.key_prefix}interrupts`,
    activeKey: (hardwareId) => registry.activeKey(hardwareId),
    logger,
  });
  await interrupts.start();
  const url = maskUrl(r.url);
  logger.info({ backend: 'redis', url, key_prefix: r.key_prefix }, 'session backend connected');
  return {
    name: 'redis',
    collectStore: new RedisCollectStore(commands, {
      keyPrefix: r.key_prefix,
      ttlMs: section.collect_ttl_ms,
      maxBuffers: section.collect_max_buffers,
      maxTextChars: section.collect_max_text_chars,
    }),
    registry,
    interrupts,
    // Both connections count: without the subscriber, interrupts from other instances are lost.
    ping: async () => {
      if (commands.status !== 'ready' || subscriber.status !== 'ready') return `redis unreachable at ${url}`;
      const pong = await commands.ping().catch(() => undefined);
      return pong === 'PONG' ? undefined : `redis does not answer at ${url}`;
    },
    close: async () => {
      registry.close();
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
