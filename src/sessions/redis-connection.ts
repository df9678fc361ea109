import { Redis, ReplyError } from 'ioredis';
import type { Logger } from 'pino';
import { AppError, ServiceUnreachableError } from '../errors.js';
import { maskUrl } from '../observability/mask-url.js';

export interface RedisConnectionOptions {
  readonly url: string;
  readonly connectTimeoutMs: number;
  /** A command without a reply within this long fails (a Redis that hangs rather than refuses). */
  readonly commandTimeoutMs: number;
  /** Reconnections a command sent before a drop waits through before it fails (0: fails at once). */
  readonly maxRetriesPerRequest: number;
  /** Reconnection attempts back off up to this delay, for as long as Redis is away. */
  readonly reconnectMaxDelayMs: number;
  /** What this connection is for, in log lines (`commands`, `subscriber`). */
  readonly role: string;
}

/**
 * A Redis client that fails fast while Redis is away and comes back by itself:
 * - no offline queue: a command issued while disconnected fails at once instead of waiting;
 * - `commandTimeoutMs` bounds a command on a connection that stopped answering;
 * - `maxRetriesPerRequest` (0 by default) fails commands in flight when the connection drops;
 * - calls of the same tick are pipelined (one write);
 * - it reconnects for ever with a capped back-off, so recovery needs no restart;
 * - its 'error' events always have a listener (ioredis prints "Unhandled error event" otherwise):
 *   the loss and the recovery are logged once each, the attempts in between at debug level.
 */
export function createRedisClient(options: RedisConnectionOptions, logger: Logger): Redis {
  const url = maskUrl(options.url);
  const client = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    enableOfflineQueue: false,
    // Calls issued in the same tick leave in one write and come back in one read: with many
    // COLLECTs in flight, fewer system calls and wake-ups on both sides. Each call is still one
    // command (EVALSHA) and one round trip.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, options.reconnectMaxDelayMs),
  });
  let up = false;
  let lost = false;
  const fields = { dependency: 'redis', url, role: options.role };
  client.on('error', (error: Error) => logger.debug({ ...fields, reason: error.message }, 'redis connection error'));
  client.on('close', () => {
    if (!up || lost || client.status === 'end') return;
    lost = true;
    logger.warn(fields, 'redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    up = true;
    if (!lost) return;
    lost = false;
    logger.info(fields, 'redis connection restored');
  });
  return client;
}

/** Connects at start-up; an unreachable Redis is a {@link ServiceUnreachableError} naming the URL. */
export async function connectRedis(client: Redis, url: string): Promise<void> {
  // connect() rejects with "Connection is closed."; the 'error' event before it says why.
  let reason: Error | undefined;
  const onError = (error: Error) => (reason ??= error);
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new ServiceUnreachableError('redis', maskUrl(url), reason ?? error);
  } finally {
    client.off('error', onError);
  }
}

/** Redis answered with an error that means "not now" rather than "your command is wrong". */
const TRANSIENT_REPLY = /^(OOM|LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/u;

/**
 * What a failed Redis call means for a client: `unavailable` (retryable) for a connection that is
 * down, slow or refusing, `internal` for an error reply that points at our own command or script.
 * The one place that reads ioredis error shapes.
 */
export function redisFailure(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ReplyError && !TRANSIENT_REPLY.test((error as Error).message)) {
    return new AppError('internal', 'internal error', { cause: error });
  }
  return new AppError('unavailable', 'the session store (Redis) is unavailable; try again', { cause: error });
}

/** Runs one Redis call and maps its failure with {@link redisFailure}. */
export async function redisCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw redisFailure(error);
  }
}
