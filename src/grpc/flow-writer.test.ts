import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { AppError } from '../errors.js';
import { FlowWriter } from './flow-writer.js';

/** The part of a grpc-js server stream the writer uses: write() with a completion callback, 'drain'. */
class FakeCall extends EventEmitter {
  readonly pending: Array<() => void> = [];
  /** write() answers false (transport buffer full) while true. */
  full = false;
  write(_message: string, done: () => void): boolean {
    this.pending.push(done);
    return !this.full;
  }
  /** The transport takes the oldest queued message. */
  take(): void {
    this.pending.shift()?.();
  }
}

function writerFor(call: FakeCall, highWaterBytes: number, observed?: { value: number }) {
  const queued = observed && { inc: (n: number) => (observed.value += n), dec: (n: number) => (observed.value -= n) };
  return new FlowWriter(call as unknown as ServerWritableStream<unknown, string>, { highWaterBytes, queued });
}

const state = (promise: Promise<unknown>) =>
  Promise.race([promise.then(() => 'settled', () => 'rejected'), new Promise((resolve) => setImmediate(() => resolve('pending')))]);

describe('FlowWriter', () => {
  test('writes go straight through while under the high-water mark', async () => {
    const call = new FakeCall();
    const writer = writerFor(call, 100);
    const signal = new AbortController().signal;
    await writer.write('a', 40, signal);
    await writer.write('b', 60, signal);
    assert.equal(writer.queuedBytes, 100);
  });

  test('past the high-water mark a write waits until the transport takes enough', async () => {
    const call = new FakeCall();
    const writer = writerFor(call, 100);
    const signal = new AbortController().signal;
    await writer.write('a', 60, signal);
    const second = writer.write('b', 60, signal);
    assert.equal(await state(second), 'pending');
    call.take();
    assert.equal(await state(second), 'settled');
    assert.equal(writer.queuedBytes, 60);
    assert.equal(writer.peakQueuedBytes, 120, 'at most the high-water mark plus one message');
  });

  test('when write() says the transport is full, it waits for drain', async () => {
    const call = new FakeCall();
    call.full = true;
    const writer = writerFor(call, 1000);
    const pending = writer.write('a', 10, new AbortController().signal);
    assert.equal(await state(pending), 'pending');
    call.emit('drain');
    assert.equal(await state(pending), 'settled');
  });

  test('an abort ends a waiting write with the reason', async () => {
    const call = new FakeCall();
    const writer = writerFor(call, 10);
    const controller = new AbortController();
    const pending = writer.write('a', 20, controller.signal);
    const reason = new AppError('interrupted', 'client went away');
    controller.abort(reason);
    await assert.rejects(pending, reason);
    assert.equal(call.listenerCount('drain'), 0);
  });

  test('the observer follows the queued bytes, and close() drops what a dead call still holds', async () => {
    const call = new FakeCall();
    const observed = { value: 0 };
    const writer = writerFor(call, 1000, observed);
    const signal = new AbortController().signal;
    await writer.write('a', 30, signal);
    await writer.write('b', 50, signal);
    assert.equal(observed.value, 80);
    call.take();
    assert.equal(observed.value, 50);
    writer.close();
    assert.equal(observed.value, 0);
    call.take(); // a late completion after close does not count twice
    assert.equal(observed.value, 0);
  });
});
