import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';

function breaker(overrides: { failureThreshold?: number; windowMs?: number; cooldownMs?: number } = {}) {
  const clock = { now: 1_000 };
  const changes: Array<[BreakerState, BreakerState]> = [];
  const b = new CircuitBreaker({
    failureThreshold: 3,
    windowMs: 10_000,
    cooldownMs: 5_000,
    ...overrides,
    now: () => clock.now,
    onStateChange: (from, to) => changes.push([from, to]),
  });
  const fail = (times = 1): void => {
    for (let i = 0; i < times; i += 1) b.tryAcquire()!.failed();
  };
  return { b, clock, changes, fail };
}

/** A breaker that opened on three failures and has cooled down: half-open, its trial waiting. */
function cooledDown() {
  const opened = breaker();
  opened.fail(3);
  opened.clock.now += 5_000;
  return opened;
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold, and successes in between do not open it', () => {
    const { b, fail } = breaker();
    fail(2);
    b.tryAcquire()!.succeeded();
    assert.equal(b.state, 'closed');
    assert.ok(b.tryAcquire());
  });

  it('opens after N failures within the window and then refuses permits', () => {
    const { b, fail, changes } = breaker();
    fail(3);
    assert.equal(b.state, 'open');
    assert.equal(b.tryAcquire(), undefined);
    assert.deepEqual(changes, [['closed', 'open']]);
  });

  it('forgets failures older than the window', () => {
    const { b, clock, fail } = breaker();
    fail(2);
    clock.now += 10_000;
    fail(1);
    assert.equal(b.state, 'closed');
    fail(2);
    assert.equal(b.state, 'open');
  });

  it('is half-open after the cool-down and lets exactly one trial through', () => {
    const { b, clock, fail } = breaker();
    fail(3);
    clock.now += 4_999;
    assert.equal(b.state, 'open');
    clock.now += 1;
    assert.equal(b.state, 'half_open');
    const trial = b.tryAcquire();
    assert.ok(trial);
    assert.equal(b.tryAcquire(), undefined, 'a second caller skips while the trial runs');
    trial.succeeded();
    assert.equal(b.state, 'closed');
    assert.ok(b.tryAcquire());
  });

  it('a failed trial re-opens it for a fresh cool-down', () => {
    const { b, clock, changes } = cooledDown();
    b.tryAcquire()!.failed();
    assert.equal(b.state, 'open');
    clock.now += 4_999;
    assert.equal(b.tryAcquire(), undefined);
    clock.now += 1;
    assert.equal(b.state, 'half_open');
    assert.deepEqual(changes, [
      ['closed', 'open'],
      ['open', 'half_open'],
      ['half_open', 'open'],
      ['open', 'half_open'],
    ]);
  });

  it('a released trial decides nothing: the next caller gets the trial', () => {
    const { b } = cooledDown();
    b.tryAcquire()!.released();
    assert.equal(b.state, 'half_open');
    assert.ok(b.tryAcquire());
  });

  it('a closed breaker starts counting afresh after a successful trial', () => {
    const { b, fail } = cooledDown();
    b.tryAcquire()!.succeeded();
    fail(2);
    assert.equal(b.state, 'closed');
  });

  it('an attempt begun before the breaker opened cannot decide the half-open trial', () => {
    const { b, clock, fail } = breaker();
    const slow = b.tryAcquire()!;
    fail(3);
    clock.now += 5_000;
    const trial = b.tryAcquire()!;
    slow.succeeded();
    assert.equal(b.state, 'half_open');
    trial.failed();
    assert.equal(b.state, 'open');
  });

  it('settling a permit twice counts once', () => {
    const { b, fail } = breaker();
    const permit = b.tryAcquire()!;
    permit.failed();
    permit.failed();
    fail(1);
    assert.equal(b.state, 'closed');
  });

  it('a threshold of 1 opens on the first failure', () => {
    const { b, fail } = breaker({ failureThreshold: 1 });
    fail(1);
    assert.equal(b.state, 'open');
  });
});
