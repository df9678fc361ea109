import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruCache } from './lru-cache.js';

describe('LruCache', () => {
  it('evicts the least recently used past max entries', () => {
    const cache = new LruCache<string>({ maxEntries: 2, maxBytes: 100 });
    cache.set('a', 'A', 1);
    cache.set('b', 'B', 1);
    assert.equal(cache.get('a'), 'A'); // a is now the most recent
    cache.set('c', 'C', 1);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 'A');
    assert.equal(cache.get('c'), 'C');
    assert.equal(cache.size, 2);
  });

  it('evicts until the bytes fit', () => {
    const cache = new LruCache<string>({ maxEntries: 10, maxBytes: 10 });
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);
    cache.set('c', 'C', 5);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('b'), 'B');
    assert.equal(cache.bytes, 9);
  });

  it('does not store a value larger than the byte limit, and keeps the others', () => {
    const cache = new LruCache<string>({ maxEntries: 10, maxBytes: 10 });
    cache.set('a', 'A', 4);
    assert.equal(cache.set('big', 'X', 11), false);
    assert.equal(cache.get('big'), undefined);
    assert.equal(cache.get('a'), 'A');
  });

  it('replacing a key updates its bytes', () => {
    const cache = new LruCache<string>({ maxEntries: 10, maxBytes: 10 });
    cache.set('a', 'A', 4);
    cache.set('a', 'A2', 6);
    assert.equal(cache.bytes, 6);
    assert.equal(cache.size, 1);
    assert.equal(cache.get('a'), 'A2');
  });

  for (const limits of [{ maxEntries: 0, maxBytes: 10 }, { maxEntries: 10, maxBytes: 0 }]) {
    it(`disabled by ${JSON.stringify(limits)}`, () => {
      const cache = new LruCache<string>(limits);
      assert.equal(cache.set('a', 'A', 0), false);
      assert.equal(cache.size, 0);
    });
  }
});
