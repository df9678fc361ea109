import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { MemoryCollectStore, type CollectStore } from './collect-store.js';
import { createLogger } from '../observability/logger.js';
import { RedisCollectStore } from './redis-collect-store.js';
import { createRedisClient } from './redis-connection.js';
import { RedisSessionRegistry } from './redis-session-registry.js';
import { commandsDuring } from '../../test/support/redis.js';

const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, connectTimeout: 10_000, maxRetriesPerRequest: 0 });
const available = await redis.connect().then(
  () => true,
  () => false,
);
if (!available && process.env.CI) throw new Error('CI must reach Redis at 127.0.0.1:6379');

/**
 * The Redis commands one connection sends while `op` runs, as MONITOR sees them (commands run
 * inside scripts are not counted: they are not round trips).
 */
function commandsOf(monitor: Redis, client: Redis, op: () => Promise<unknown>): Promise<string[]> {
  const source = `${client.stream.localAddress}:${client.stream.localPort}`;
  return commandsDuring(monitor, client, op, (_args, from) => from === source);
}

describe('Redis session backend', { skip: available ? false : 'no Redis at 127.0.0.1:6379' }, () => {
  const keyPrefix = `nexy-unit-${randomUUID()}:`;
  let now = 1_000_000;
  const store = new RedisCollectStore(redis, { keyPrefix, ttlMs: 60_000, maxBuffers: 3, maxTextChars: 20, now: () => now });
  after(async () => {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  test('merges, guards the sequence and takes atomically', async () => {
    const key = { hardwareId: 'H', sessionId: 's1' };
    assert.equal(await store.append(key, { seq: 1, text: 'open the' }), 'accepted');
    assert.equal(await store.append(key, { seq: 1, text: 'again' }), 'stale');
    assert.equal(await store.append(key, { seq: 2, text: 'the door' }), 'accepted');
    assert.deepEqual(await store.take(key), { lastSeq: 2, text: 'open the door', screenshot: undefined });
    assert.equal(await store.take(key), undefined);
  });

  test('a screenshot is kept across later pieces and replaced by a newer one', async () => {
    const key = { hardwareId: 'H', sessionId: 'shot' };
    await store.append(key, { seq: 1, text: 'look', screenshot: { base64: 'AAAA', width: 10, height: 20 } });
    await store.append(key, { seq: 2, text: 'at this' });
    assert.deepEqual((await store.take(key))?.screenshot, { base64: 'AAAA', width: 10, height: 20 });
    await store.append(key, { seq: 1, text: 'a', screenshot: { base64: 'AAAA' } });
    await store.append(key, { seq: 2, text: 'b', screenshot: { base64: 'BBBB', width: 3 } });
    assert.deepEqual((await store.take(key))?.screenshot, { base64: 'BBBB', width: 3 });
  });

  test('a buffer lives collect_ttl_ms in Redis', async () => {
    const key = { hardwareId: 'H', sessionId: 'ttl' };
    await store.append(key, { seq: 1, text: 'hi' });
    const ttl = await redis.pttl(`${keyPrefix}collect:H|ttl`);
    assert.ok(ttl > 50_000 && ttl <= 60_000, String(ttl));
    await store.take(key);
  });

  test('text past the limit is refused and the buffer is unchanged', async () => {
    const key = { hardwareId: 'H', sessionId: 'long' };
    await store.append(key, { seq: 1, text: 'short' });
    await assert.rejects(store.append(key, { seq: 2, text: 'far too many words here' }), { kind: 'limit' });
    assert.equal((await store.take(key))?.text, 'short');
  });

  test('the number of buffers is bounded: the least recently touched goes first, never the one written', async () => {
    for (const [i, sessionId] of ['a', 'b', 'c', 'd'].entries()) {
      now += 1;
      await store.append({ hardwareId: 'B', sessionId }, { seq: i, text: sessionId });
    }
    assert.equal(await store.size(), 3);
    assert.equal(store.buffered, 3, 'the gauge value comes back with the script reply');
    assert.equal(await store.take({ hardwareId: 'B', sessionId: 'a' }), undefined);
    // Same millisecond: ties in the index must not evict the buffer being written ('0' sorts first).
    await store.append({ hardwareId: 'B', sessionId: '0' }, { seq: 1, text: 'zero' });
    assert.equal((await store.take({ hardwareId: 'B', sessionId: '0' }))?.text, 'zero');
    assert.equal(await store.dropHardware('B'), 2);
    assert.equal(await store.size(), 0);
  });

  test('the Lua merge gives what mergeSpeech gives, piece by piece (property)', async () => {
    // Few distinct words, so snapshots, repeats and overlaps are frequent; case, punctuation,
    // Unicode spaces and letters outside the BMP exercise what Lua cannot see itself.
    const token = fc.constantFrom(
      'what', 'What', 'is', 'the', 'THE', 'weather', 'weather?', '«the»', 'погода', 'Погода', 'ёж', '😀', 'a😀b', '😀😀😀😀😀😀', '...', '-',
      ' ', ' ', '  ', '\t', '\n', '\u00a0', '\u3000', '\u2009',
    );
    const piece = fc.array(token, { maxLength: 8 }).map((parts) => parts.join(''));
    const step = fc.record({ seq: fc.integer({ min: 0, max: 6 }), text: piece });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), fc.integer({ min: 4, max: 40 }), async (steps, maxTextChars) => {
        const options = { keyPrefix: `${keyPrefix}prop:`, ttlMs: 60_000, maxBuffers: 100, maxTextChars };
        const expected = new MemoryCollectStore({ ...options, sweepIntervalMs: 60_000, maxTotalBytes: 1 << 30 });
        const actual = new RedisCollectStore(redis, options);
        const key = { hardwareId: 'P', sessionId: `run-${run++}` };
        const outcome = (s: CollectStore, p: { seq: number; text: string }) =>
          s.append(key, p).catch((e: unknown) => (e instanceof AppError ? e.kind : Promise.reject(e)));
        for (const p of steps) assert.equal(await outcome(actual, p), await outcome(expected, p), JSON.stringify(p));
        assert.deepEqual(await actual.take(key), await expected.take(key));
      }),
      { numRuns: 300 },
    );
  });

  test('each operation is one Redis round trip: COLLECT, take, drop, lease acquire and release', async (t) => {
    // A client as the server makes it (auto-pipelined, no offline queue).
    const client = createRedisClient(
      { url: 'redis://127.0.0.1:6379', connectTimeoutMs: 10_000, commandTimeoutMs: 10_000, maxRetriesPerRequest: 0, reconnectMaxDelayMs: 1000, role: 'test' },
      createLogger('silent'),
    );
    await client.connect();
    const monitor = await redis.monitor();
    t.after(() => {
      client.disconnect();
      monitor.disconnect();
    });
    await client.ping();
    const counted = new RedisCollectStore(client, { keyPrefix, ttlMs: 60_000, maxBuffers: 1, maxTextChars: 100 });
    const registry = new RedisSessionRegistry(client, { keyPrefix, leaseTtlMs: 10_000 });
    const key = { hardwareId: 'C', sessionId: 'count' };
    // The first call on a connection sends the script (EVAL), later ones its hash (EVALSHA).
    assert.deepEqual(await commandsOf(monitor, client, () => counted.append(key, { seq: 1, text: 'what is' })), ['eval']);
    assert.deepEqual(await commandsOf(monitor, client, () => counted.append(key, { seq: 2, text: 'is the weather' })), ['evalsha']);
    assert.deepEqual(await commandsOf(monitor, client, () => counted.append(key, { seq: 2, text: 'stale' })), ['evalsha']);
    // Past the bound (1 buffer): eviction happens inside the same call.
    assert.deepEqual(await commandsOf(monitor, client, () => counted.append({ hardwareId: 'C', sessionId: 'other' }, { seq: 1, text: 'x' })), ['evalsha']);
    assert.deepEqual(await commandsOf(monitor, client, () => counted.take({ hardwareId: 'C', sessionId: 'other' })), ['eval']);
    assert.deepEqual(await commandsOf(monitor, client, () => counted.dropHardware('C')), ['eval']);
    let lease: Awaited<ReturnType<typeof registry.acquire>> | undefined;
    assert.deepEqual(await commandsOf(monitor, client, async () => (lease = await registry.acquire('count-lease', { hardwareId: 'C' }))), ['eval']);
    assert.ok(lease?.ok);
    assert.deepEqual(await commandsOf(monitor, client, () => registry.active('C')), ['eval']);
    assert.deepEqual(await commandsOf(monitor, client, () => registry.release(lease!.ok ? lease!.lease : assert.fail())), ['eval']);
    registry.close();
  });

  test('leases are exclusive until released, and listed per hardware id', async () => {
    const registry = new RedisSessionRegistry(redis, { keyPrefix, leaseTtlMs: 10_000 });
    const first = await registry.acquire('lease-1', { hardwareId: 'H' });
    assert.ok(first.ok);
    assert.deepEqual(await registry.acquire('lease-1', { hardwareId: 'H' }), { ok: false, reason: 'conflict' });
    assert.deepEqual(await registry.active('H'), ['lease-1']);
    await registry.release(first.lease);
    assert.deepEqual(await registry.active('H'), []);
    const again = await registry.acquire('lease-1', { hardwareId: 'H' });
    assert.ok(again.ok);
    await registry.release(again.lease);
    registry.close();
  });
});
