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
