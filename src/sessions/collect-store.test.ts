import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { MemoryCollectStore, type MemoryCollectStoreOptions } from './collect-store.js';

function store(overrides: Partial<MemoryCollectStoreOptions> = {}) {
  let now = 1_000;
  const s = new MemoryCollectStore({
    ttlMs: 60_000,
    sweepIntervalMs: 1_000,
    maxBuffers: 100,
    maxTextChars: 1_000,
    maxTotalBytes: 1_000_000,
    now: () => now,
    ...overrides,
  });
  return { s, advance: (ms: number) => (now += ms) };
}

const key = { hardwareId: 'HW1', sessionId: 's1' };

test('pieces merge in order and take() returns then forgets the buffer', async () => {
  const { s } = store();
  assert.equal(await s.append(key, { seq: 1, text: 'what is' }), 'accepted');
  assert.equal(await s.append(key, { seq: 2, text: 'the weather' }), 'accepted');
  assert.deepEqual(await s.take(key), { lastSeq: 2, text: 'what is the weather', screenshot: undefined });
  assert.equal(await s.take(key), undefined);
});

test('a seq not greater than the last one is stale and changes nothing', async () => {
  const { s } = store();
  await s.append(key, { seq: 5, text: 'hello' });
  assert.equal(await s.append(key, { seq: 5, text: 'again' }), 'stale');
  assert.equal(await s.append(key, { seq: 3, text: 'older' }), 'stale');
  assert.equal((await s.take(key))?.text, 'hello');
});

test('the latest screenshot wins and survives text-only pieces', async () => {
  const { s } = store();
  await s.append(key, { seq: 1, text: '', screenshot: { base64: 'AAAA', width: 10, height: 20 } });
  await s.append(key, { seq: 2, text: 'hi', screenshot: { base64: 'BBBB', width: 30, height: 40 } });
  await s.append(key, { seq: 3, text: 'there' });
  assert.deepEqual(await s.take(key), { lastSeq: 3, text: 'hi there', screenshot: { base64: 'BBBB', width: 30, height: 40 } });
});

test('buffers are separate per hardware id and session id', async () => {
  const { s } = store();
  await s.append(key, { seq: 1, text: 'one' });
  await s.append({ hardwareId: 'HW1', sessionId: 's2' }, { seq: 1, text: 'two' });
  await s.append({ hardwareId: 'HW2', sessionId: 's1' }, { seq: 1, text: 'three' });
  assert.equal((await s.take({ hardwareId: 'HW2', sessionId: 's1' }))?.text, 'three');
  assert.equal((await s.take(key))?.text, 'one');
});

test('a buffer expires collect_ttl_ms after its last accepted piece', async () => {
  const { s, advance } = store({ ttlMs: 100 });
  await s.append(key, { seq: 1, text: 'hello' });
  advance(80);
  await s.append(key, { seq: 2, text: 'world' });
  advance(80);
  assert.equal(await s.size(), 1, 'the second piece renewed the TTL');
  advance(30);
  s.sweep();
  assert.equal(await s.size(), 0);
  assert.equal(await s.take(key), undefined);
});

test('an expired buffer is not merged into a new utterance even before the sweep', async () => {
  const { s, advance } = store({ ttlMs: 100 });
  await s.append(key, { seq: 1, text: 'old words' });
  advance(200);
  assert.equal(await s.append(key, { seq: 1, text: 'new' }), 'accepted', 'the old seq no longer guards');
  assert.equal((await s.take(key))?.text, 'new');
});

test('the number of buffers is bounded: the least recently touched is evicted', async () => {
  const { s } = store({ maxBuffers: 3 });
  for (const sessionId of ['a', 'b', 'c']) await s.append({ hardwareId: 'H', sessionId }, { seq: 1, text: sessionId });
  await s.append({ hardwareId: 'H', sessionId: 'a' }, { seq: 2, text: 'again' });
  await s.append({ hardwareId: 'H', sessionId: 'd' }, { seq: 1, text: 'd' });
  assert.equal(await s.size(), 3);
  assert.equal(await s.take({ hardwareId: 'H', sessionId: 'b' }), undefined, 'b was the oldest');
  assert.ok(await s.take({ hardwareId: 'H', sessionId: 'a' }));
});

test('total bytes are bounded: big screenshots evict older buffers', async () => {
  const { s } = store({ maxTotalBytes: 2_500 });
  await s.append({ hardwareId: 'H', sessionId: 'a' }, { seq: 1, text: '', screenshot: { base64: 'x'.repeat(1_000) } });
  await s.append({ hardwareId: 'H', sessionId: 'b' }, { seq: 1, text: '', screenshot: { base64: 'x'.repeat(1_000) } });
  await s.append({ hardwareId: 'H', sessionId: 'c' }, { seq: 1, text: '', screenshot: { base64: 'x'.repeat(1_000) } });
  assert.equal(await s.size(), 2);
  assert.equal(await s.take({ hardwareId: 'H', sessionId: 'a' }), undefined);
});

test('text past the limit is refused and the buffer keeps what it had', async () => {
  const { s } = store({ maxTextChars: 10 });
  await s.append(key, { seq: 1, text: 'hello' });
  await assert.rejects(s.append(key, { seq: 2, text: 'wonderful world' }), { kind: 'limit' });
  assert.equal((await s.take(key))?.text, 'hello');
});

test('dropHardware drops every buffer of that hardware id only', async () => {
  const { s } = store();
  await s.append({ hardwareId: 'H1', sessionId: 'a' }, { seq: 1, text: 'a' });
  await s.append({ hardwareId: 'H1', sessionId: 'b' }, { seq: 1, text: 'b' });
  await s.append({ hardwareId: 'H2', sessionId: 'a' }, { seq: 1, text: 'c' });
  assert.equal(await s.dropHardware('H1'), 2);
  assert.equal(await s.size(), 1);
});
