import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisCollectStore } from './redis-collect-store.js';
import { RedisSessionRegistry } from './redis-session-registry.js';

const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, connectTimeout: 10_000, maxRetriesPerRequest: 0 });
const available = await redis.connect().then(
  () => true,
  () => false,
);
if (!available && process.env.CI) throw new Error('CI must reach Redis at 127.0.0.1:6379');

describe('Redis session backend', { skip: available ? false : 'no Redis at 127.0.0.1:6379' }, () => {
  const keyPrefix = `nexy-unit-${randomUUID()}:`;
  let now = 1_000_000;
  const store = new RedisCollectStore(redis, { keyPrefix, ttlMs: 60_000, maxBuffers: 3, maxTextChars: 20, maxWriteAttempts: 3, now: () => now });
  before(() => undefined);
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

  test('the number of buffers is bounded: the least recently touched goes first', async () => {
    for (const [i, sessionId] of ['a', 'b', 'c', 'd'].entries()) {
      now += 1;
      await store.append({ hardwareId: 'B', sessionId }, { seq: i, text: sessionId });
    }
    assert.equal(await store.size(), 3);
    assert.equal(await store.take({ hardwareId: 'B', sessionId: 'a' }), undefined);
    assert.equal(await store.dropHardware('B'), 3);
    assert.equal(await store.size(), 0);
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
