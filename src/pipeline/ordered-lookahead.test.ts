import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AppError } from '../errors.js';
import { orderedLookahead, type Lane } from './ordered-lookahead.js';

/** A promise and its resolvers. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Gate = ReturnType<typeof deferred<void>>;

/** Lets every queued microtask and I/O callback run (no timer involved). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function* from<T>(items: readonly T[], log?: string[]): AsyncGenerator<T> {
  for (const item of items) {
    log?.push(`pull ${String(item)}`);
    yield item;
  }
}

/** Jobs whose results come out only when the test says so; records what happens to each. */
class Jobs {
  readonly events: string[] = [];
  readonly signals = new Map<string, AbortSignal>();
  /** Whether each job started ahead of the reader. */
  readonly ahead = new Map<string, boolean>();
  readonly #gates = new Map<string, Array<Gate>>();
  readonly #started = new Map<string, Gate>();
  failAt: { item: string; index: number; error: Error } | undefined;

  constructor(readonly resultsPerItem = 2) {}

  /** Resolves when the job of `item` has started. */
  started(item: string): Promise<void> {
    return this.#startedGate(item).promise;
  }

  /** Lets result `index` of `item` out. */
  release(item: string, index: number): void {
    this.#gate(item, index).resolve();
  }

  releaseAll(item: string): void {
    for (let i = 0; i < this.resultsPerItem; i++) this.release(item, i);
  }

  run = async function* (this: Jobs, item: string, signal: AbortSignal, ahead: boolean): AsyncGenerator<string> {
    this.signals.set(item, signal);
    this.ahead.set(item, ahead);
    this.events.push(`start ${item}`);
    this.#startedGate(item).resolve();
    for (let i = 0; i < this.resultsPerItem; i++) {
      await new Promise<void>((resolve, reject) => {
        void this.#gate(item, i).promise.then(resolve);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      if (this.failAt?.item === item && this.failAt.index === i) throw this.failAt.error;
      yield `${item}${i}`;
    }
    this.events.push(`end ${item}`);
  }.bind(this);

  #gate(item: string, index: number) {
    const gates = this.#gates.get(item) ?? [];
    this.#gates.set(item, gates);
    gates[index] ??= deferred<void>();
    return gates[index];
  }

  #startedGate(item: string) {
    const gate = this.#started.get(item) ?? deferred<void>();
    this.#started.set(item, gate);
    return gate;
  }
}

async function readLane(lane: Lane<string, string>, out: string[]): Promise<void> {
  out.push(`item ${lane.item}`);
  for await (const result of lane.results) out.push(result);
}

describe('orderedLookahead', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (error: unknown) => unhandled.push(error);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    await settle();
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'no unhandled rejections');
  });

  test('hands out every item and its results strictly in source order', async () => {
    const run = async function* (item: number): AsyncGenerator<string> {
      // Later items finish first: order must still be the source's.
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (item === 1) await settle();
        yield `${item}.${i}`;
      }
    };
    const out: string[] = [];
    for await (const lane of orderedLookahead(() => from([1, 2, 3, 4]), run, { limit: 3, pending: 8, signal: new AbortController().signal })) {
      out.push(`item ${lane.item}`);
      for await (const result of lane.results) out.push(result);
    }
    assert.deepEqual(out, [
      'item 1', '1.0', '1.1', '1.2',
      'item 2', '2.0', '2.1', '2.2',
      'item 3', '3.0', '3.1', '3.2',
      'item 4', '4.0', '4.1', '4.2',
    ]);
  });

  test('the next job starts while the current lane is still being read, once the current one has its first result', async () => {
    const jobs = new Jobs();
    const lanes = orderedLookahead(() => from(['a', 'b', 'c']), jobs.run, { limit: 2, pending: 8, signal: new AbortController().signal });
    const first = await lanes.next();
    assert.equal(first.done, false);
    const results = first.value!.results[Symbol.asyncIterator]();
    await jobs.started('a');
    await settle();
    assert.deepEqual(jobs.events, ['start a'], 'b waits for the first result of a');
    jobs.release('a', 0);
    assert.deepEqual(await results.next(), { done: false, value: 'a0' });
    await jobs.started('b');
    await settle();
    assert.deepEqual(jobs.events, ['start a', 'start b'], 'c waits: the limit is two jobs');
    // b runs to its end while a is still being read: its results wait in its lane.
    jobs.releaseAll('b');
    await settle();
    assert.deepEqual(jobs.events, ['start a', 'start b', 'end b']);
    jobs.release('a', 1);
    assert.deepEqual(await results.next(), { done: false, value: 'a1' });
    assert.equal((await results.next()).done, true);
    const second = await lanes.next();
    assert.equal(second.value!.item, 'b');
    await jobs.started('c');
    const out: string[] = [];
    for await (const result of second.value!.results) out.push(result);
    assert.deepEqual(out, ['b0', 'b1']);
    jobs.releaseAll('c');
    const third = await lanes.next();
    await readLane(third.value!, out);
    assert.deepEqual(out, ['b0', 'b1', 'item c', 'c0', 'c1']);
    assert.equal((await lanes.next()).done, true);
    assert.deepEqual(Object.fromEntries(jobs.ahead), { a: false, b: true, c: true }, 'a job started behind another runs ahead of the reader');
  });

  test('limit 1 is one job at a time, in order', async () => {
    const jobs = new Jobs(1);
    const out: string[] = [];
    const reading = (async () => {
      for await (const lane of orderedLookahead(() => from(['a', 'b']), jobs.run, { limit: 1, pending: 8, signal: new AbortController().signal })) {
        await readLane(lane, out);
      }
    })();
    await jobs.started('a');
    jobs.releaseAll('a');
    jobs.releaseAll('b');
    await reading;
    assert.deepEqual(jobs.events, ['start a', 'end a', 'start b', 'end b']);
    assert.deepEqual(out, ['item a', 'a0', 'item b', 'b0']);
    assert.deepEqual(Object.fromEntries(jobs.ahead), { a: false, b: false }, 'each job is the one the reader waits for');
  });

  test('the source is read on while the reader is stalled, up to `pending` waiting items', async () => {
    const pulled: string[] = [];
    const jobs = new Jobs(1);
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    const lanes = orderedLookahead(() => from(items, pulled), jobs.run, { limit: 1, pending: 3, signal: new AbortController().signal });
    const first = await lanes.next();
    assert.equal(first.value!.item, 'a');
    await settle();
    // a has a job; b, c, d wait; e is not asked for until a waiting item starts.
    assert.deepEqual(pulled, ['pull a', 'pull b', 'pull c', 'pull d']);
    jobs.releaseAll('a');
    await readLane(first.value!, []);
    const second = lanes.next();
    await jobs.started('b');
    await settle();
    assert.deepEqual(pulled, ['pull a', 'pull b', 'pull c', 'pull d', 'pull e']);
    for (const item of items.slice(1)) jobs.releaseAll(item);
    const rest: string[] = [];
    await readLane((await second).value!, rest);
    for await (const lane of lanes) await readLane(lane, rest);
    assert.deepEqual(rest, ['item b', 'b0', 'item c', 'c0', 'item d', 'd0', 'item e', 'e0', 'item f', 'f0']);
  });

  test('a source error surfaces after every item read before it', async () => {
    const failure = new AppError('unavailable', 'model went away');
    async function* source(): AsyncGenerator<string> {
      yield 'a';
      yield 'b';
      throw failure;
    }
    const jobs = new Jobs(1);
    jobs.releaseAll('a');
    jobs.releaseAll('b');
    const out: string[] = [];
    await assert.rejects(async () => {
      for await (const lane of orderedLookahead(source, jobs.run, { limit: 2, pending: 8, signal: new AbortController().signal })) {
        await readLane(lane, out);
      }
    }, failure);
    assert.deepEqual(out, ['item a', 'a0', 'item b', 'b0']);
  });

  test('a job failing ahead surfaces in order: the lanes before it end first; then the source and the rest stop', async () => {
    const failure = new AppError('unavailable', 'the engine failed');
    const jobs = new Jobs(2);
    jobs.failAt = { item: 'b', index: 0, error: failure };
    let sourceSignal: AbortSignal | undefined;
    async function* source(signal: AbortSignal): AsyncGenerator<string> {
      sourceSignal = signal;
      yield* ['a', 'b', 'c'];
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    }
    const out: string[] = [];
    const reading = (async () => {
      for await (const lane of orderedLookahead(source, jobs.run, { limit: 3, pending: 8, signal: new AbortController().signal })) {
        await readLane(lane, out);
      }
    })();
    await jobs.started('a');
    jobs.release('a', 0);
    await jobs.started('b');
    jobs.release('b', 0); // b fails now, while a is still being read
    await settle();
    assert.deepEqual(out, ['item a', 'a0']);
    assert.ok(!jobs.events.includes('start c'), 'nothing starts after a failed job');
    jobs.release('a', 1);
    await assert.rejects(reading, failure);
    assert.deepEqual(out, ['item a', 'a0', 'a1', 'item b']);
    assert.equal(sourceSignal?.aborted, true, 'the source was stopped');
  });

  test('an abort stops the source and every running job at once, and the reader gets the reason', async () => {
    const controller = new AbortController();
    const jobs = new Jobs(2);
    let sourceSignal: AbortSignal | undefined;
    async function* source(signal: AbortSignal): AsyncGenerator<string> {
      sourceSignal = signal;
      yield* ['a', 'b'];
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    const out: string[] = [];
    const reading = (async () => {
      for await (const lane of orderedLookahead(source, jobs.run, { limit: 3, pending: 8, signal: controller.signal })) {
        await readLane(lane, out);
      }
    })();
    await jobs.started('a');
    jobs.release('a', 0);
    await jobs.started('b');
    const reason = new AppError('interrupted', 'user interrupted');
    controller.abort(reason);
    await assert.rejects(reading, reason);
    assert.equal(jobs.signals.get('a')?.aborted, true);
    assert.equal(jobs.signals.get('b')?.aborted, true);
    assert.equal(sourceSignal?.aborted, true);
    assert.equal(out[0], 'item a');
    assert.ok(out.every((x) => x === 'item a' || x === 'a0'), 'nothing of b, nor more of a');
  });

  test('after an abort nothing more comes out, not even results already buffered', async () => {
    const controller = new AbortController();
    const jobs = new Jobs(2);
    jobs.releaseAll('a');
    const lanes = orderedLookahead(() => from(['a']), jobs.run, { limit: 1, pending: 8, signal: controller.signal });
    const lane = (await lanes.next()).value!;
    const results = lane.results[Symbol.asyncIterator]();
    assert.deepEqual(await results.next(), { done: false, value: 'a0' });
    const reason = new AppError('interrupted', 'user interrupted');
    controller.abort(reason);
    await assert.rejects(results.next(), reason);
    await assert.rejects(lanes.next(), reason);
  });

  test('leaving early (break) stops the source and the jobs ahead', async () => {
    const jobs = new Jobs(1);
    let sourceSignal: AbortSignal | undefined;
    async function* source(signal: AbortSignal): AsyncGenerator<string> {
      sourceSignal = signal;
      yield* ['a', 'b'];
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    }
    jobs.releaseAll('a');
    for await (const lane of orderedLookahead(source, jobs.run, { limit: 2, pending: 8, signal: new AbortController().signal })) {
      await readLane(lane, []);
      await jobs.started('b');
      break;
    }
    assert.equal(jobs.signals.get('b')?.aborted, true);
    assert.equal(sourceSignal?.aborted, true);
  });

  test('an already aborted signal yields nothing and throws the reason', async () => {
    const controller = new AbortController();
    const reason = new AppError('interrupted', 'gone');
    controller.abort(reason);
    const jobs = new Jobs(1);
    await assert.rejects(async () => {
      for await (const lane of orderedLookahead(() => from(['a']), jobs.run, { limit: 2, pending: 2, signal: controller.signal })) {
        await readLane(lane, []);
      }
    }, reason);
    assert.deepEqual(jobs.events, []);
  });

  test('limits below 1 are refused', async () => {
    const jobs = new Jobs(1);
    const signal = new AbortController().signal;
    await assert.rejects(orderedLookahead(() => from(['a']), jobs.run, { limit: 0, pending: 2, signal }).next(), RangeError);
    await assert.rejects(orderedLookahead(() => from(['a']), jobs.run, { limit: 2, pending: 0, signal }).next(), RangeError);
  });
});
