import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { peerAddress } from './call-guard.js';
import { periodBounds } from './quota-periods.js';
import { RateLimiter } from './rate-limiter.js';

function clock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('RateLimiter', () => {
  test('a bucket lets `burst` calls through, then refuses with when to retry, and refills at per_minute', () => {
    const c = clock();
    const limiter = new RateLimiter({ idleMs: 600_000, maxBuckets: 10, now: c.now });
    const spec = { burst: 2, perMinute: 6 };
    assert.equal(limiter.take('k', spec).ok, true);
    assert.equal(limiter.take('k', spec).ok, true);
    const refused = limiter.take('k', spec);
    assert.deepEqual(refused, { ok: false, retryAfterMs: 10_000 });
    c.advance(9_999);
    assert.equal(limiter.take('k', spec).ok, false);
    c.advance(1);
    assert.equal(limiter.take('k', spec).ok, true);
    assert.equal(limiter.take('k', spec).ok, false);
  });

  test('keys are independent, and burst 0 turns a bucket off', () => {
    const limiter = new RateLimiter({ idleMs: 600_000, maxBuckets: 10, now: clock().now });
    assert.equal(limiter.take('a', { burst: 1, perMinute: 1 }).ok, true);
    assert.equal(limiter.take('b', { burst: 1, perMinute: 1 }).ok, true);
    assert.equal(limiter.take('a', { burst: 1, perMinute: 1 }).ok, false);
    for (let i = 0; i < 100; i++) assert.equal(limiter.take('off', { burst: 0, perMinute: 0 }).ok, true);
    assert.equal(limiter.size, 2, 'an off bucket is never stored');
  });

  test('memory is bounded: idle buckets are dropped and at most maxBuckets are kept, least recently used first', () => {
    const c = clock();
    let evicted = 0;
    const limiter = new RateLimiter({ idleMs: 1_000, maxBuckets: 3, now: c.now, onEvicted: () => evicted++ });
    const spec = { burst: 1, perMinute: 60 };
    for (const key of ['a', 'b', 'c']) limiter.take(key, spec);
    limiter.take('a', spec); // a is now the most recently used
    limiter.take('d', spec); // over the bound: b (least recently used) goes
    assert.equal(limiter.size, 3);
    assert.equal(evicted, 1);
    assert.equal(limiter.take('a', spec).ok, false, 'a kept its (empty) bucket');
    assert.equal(limiter.take('b', spec).ok, true, 'b starts over');
    c.advance(1_000);
    limiter.take('e', spec);
    assert.equal(limiter.size, 1, 'every bucket idle for idleMs is gone');
    assert.equal(evicted, 2, 'idle drops are not counted as evictions');
  });
});

test('peerAddress keeps the address of a transport peer, without the port', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1:50123', '127.0.0.1'],
    ['ipv4:10.0.0.7:443', '10.0.0.7'],
    ['[::1]:5000', '::1'],
    ['ipv6:[2001:db8::1]:5000', '2001:db8::1'],
    ['[::ffff:192.168.1.2]:7000', '192.168.1.2'],
    ['unix:/tmp/nexy.sock', 'unix:/tmp/nexy.sock'],
  ];
  for (const [peer, address] of cases) assert.equal(peerAddress(peer), address, peer);
});

test('quota periods are the UTC day, the ISO week from Monday and the calendar month', () => {
  const at = Date.parse('2026-12-09T15:30:00Z'); // a Wednesday
  assert.deepEqual(periodBounds('day', at), { start: Date.parse('2026-12-09T00:00:00Z'), end: Date.parse('2026-12-10T00:00:00Z') });
  assert.deepEqual(periodBounds('week', at), { start: Date.parse('2026-12-07T00:00:00Z'), end: Date.parse('2026-12-14T00:00:00Z') });
  assert.deepEqual(periodBounds('month', at), { start: Date.parse('2026-12-01T00:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z') });
  const sunday = Date.parse('2026-12-13T23:59:59Z');
  assert.equal(periodBounds('week', sunday).start, Date.parse('2026-12-07T00:00:00Z'));
});
