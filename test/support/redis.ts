import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use: the machine's server (override: NEXY_TEST_REDIS_URL). */
export const REDIS_URL = process.env.NEXY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

// Generous: a loaded CI machine can be slow to accept; a dead server refuses at once.
const CONNECT_TIMEOUT_MS = 10_000;

/** True when a Redis server answers PING at `url`. */
export async function redisAnswers(url: string = REDIS_URL): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * The commands (lower-cased names) MONITOR reports while `op` runs, of those `counts` accepts by
 * their arguments and source (`host:port`, or `lua` for a command a script runs). The window
 * closes when a marker `client` echoes after `op` comes through, so nothing is missed or late.
 */
export async function commandsDuring(
  monitor: Redis,
  client: Redis,
  op: () => Promise<unknown>,
  counts: (args: readonly string[], source: string) => boolean,
): Promise<string[]> {
  const marker = `end-of-op-${randomUUID()}`;
  const seen: string[] = [];
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const listener = (_time: string, args: string[], source: string) => {
    if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) finished();
    else if (counts(args, source)) seen.push(args[0]!.toLowerCase());
  };
  monitor.on('monitor', listener);
  try {
    await op();
    await client.echo(marker);
    await done;
  } finally {
    monitor.off('monitor', listener);
  }
  return seen;
}
