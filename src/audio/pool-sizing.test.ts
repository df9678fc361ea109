import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { poolSizing, warmWorkerBalancer } from './pool-sizing.js';

describe('poolSizing', () => {
  const cases = [
    { name: 'count 0 is one per core; one warm while idle', options: { workers: 0, idleWorkers: 1, idleTimeoutMs: 30000 }, min: 1, max: 4, idle: 30000 },
    { name: 'idle workers above the most the pool runs: all of them, never stopped', options: { workers: 2, idleWorkers: 5, idleTimeoutMs: 30000 }, min: 2, max: 2, idle: Infinity },
    { name: 'no idle count: every worker always (as before)', options: { workers: 3 }, min: 3, max: 3, idle: Infinity },
    { name: 'none while idle', options: { workers: 2, idleWorkers: 0, idleTimeoutMs: 100 }, min: 0, max: 2, idle: 100 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const sizing = poolSizing(c.options, 4);
      assert.deepEqual([sizing.minThreads, sizing.maxThreads, sizing.idleTimeout], [c.min, c.max, c.idle]);
    });
  }

  it('sets the young generation of each worker only when configured', () => {
    assert.deepEqual(poolSizing({ workers: 1, youngGenerationMb: 2 }, 4).resourceLimits, { maxYoungGenerationSizeMb: 2 });
    assert.deepEqual(poolSizing({ workers: 1 }, 4).resourceLimits, {});
  });
});

describe('warmWorkerBalancer', () => {
  it('hands a job to a free warm worker only, never to one still loading', () => {
    const warm = new Set([2, 3]);
    const balance = warmWorkerBalancer(warm);
    const loading = { id: 1, currentUsage: 0 };
    const busy = { id: 2, currentUsage: 1 };
    const free = { id: 3, currentUsage: 0 };
    assert.equal(balance({}, [loading, busy, free]), free);
    assert.equal(balance({}, [loading, busy]), null);
    warm.add(1);
    assert.equal(balance({}, [loading, busy]), loading, 'once warm it takes jobs');
  });
});
