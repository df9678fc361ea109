import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, InterruptedError } from '../../errors.js';
import { isNetworkFailure, kindOfHttpStatus, PcmBytes, speechError, StallTimer, translateSpeechError } from './upstream.js';

describe('speech upstream errors', () => {
  const statuses: ReadonlyArray<readonly [number, string]> = [
    [429, 'limit'],
    [401, 'rejected'],
    [403, 'rejected'],
    [408, 'timeout'],
    [500, 'unavailable'],
    [502, 'unavailable'],
    [400, 'internal'],
    [404, 'internal'],
  ];
  for (const [status, kind] of statuses) it(`HTTP ${status} → ${kind}`, () => assert.equal(kindOfHttpStatus(status), kind));

  it('rejected credentials are the engine being unavailable, not retryable; messages are safe', () => {
    const error = speechError('rejected', new Error('invalid key sk-123'));
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.retryable, false);
    assert.doesNotMatch(error.message, /sk-123/u);
    assert.equal(speechError('limit', undefined).retryable, true);
  });

  it('connection failures are recognised through causes', () => {
    assert.ok(isNetworkFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })));
    assert.ok(isNetworkFailure(Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
    assert.ok(!isNetworkFailure(new Error('something else')));
  });

  it('an aborted upstream signal decides: its reason wins over what was thrown', () => {
    const controller = new AbortController();
    const timeout = speechError('timeout', undefined);
    controller.abort(timeout);
    assert.equal(translateSpeechError(new Error('aborted'), controller.signal), timeout);
    const interrupted = new AbortController();
    interrupted.abort(new InterruptedError());
    assert.equal(translateSpeechError(new Error('aborted'), interrupted.signal).kind, 'interrupted');
    assert.equal(translateSpeechError(new Error('odd'), new AbortController().signal).kind, 'internal');
  });
});

describe('StallTimer', () => {
  it('aborts with a timeout only after a full period without progress', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const controller = new AbortController();
    const timer = new StallTimer(1000, controller, 'test');
    t.mock.timers.tick(900);
    timer.restart();
    t.mock.timers.tick(900);
    assert.equal(controller.signal.aborted, false);
    t.mock.timers.tick(100);
    assert.ok(controller.signal.reason instanceof AppError);
    assert.equal((controller.signal.reason as AppError).kind, 'timeout');
  });

  it('stop() disarms it', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const controller = new AbortController();
    new StallTimer(1000, controller, 'test').stop();
    t.mock.timers.tick(5000);
    assert.equal(controller.signal.aborted, false);
  });
});

describe('PcmBytes', () => {
  const bytesOf = (...values: number[]) => Uint8Array.from(values);
  it('whole little-endian samples per piece; an odd byte waits for the next piece', () => {
    const pcm = new PcmBytes();
    assert.deepEqual([...pcm.push(bytesOf(0x01, 0x00, 0xff))], [1]);
    assert.ok(pcm.pendingByte);
    assert.deepEqual([...pcm.push(bytesOf(0x7f))], [0x7fff]);
    assert.ok(!pcm.pendingByte);
    assert.deepEqual([...pcm.push(bytesOf(0x00))], []);
    assert.deepEqual([...pcm.push(bytesOf())], []);
    assert.deepEqual([...pcm.push(bytesOf(0x80, 0xfe, 0xff))], [-32768, -2]);
    assert.ok(!pcm.pendingByte);
  });

  it('any cut of a byte stream gives the same samples', () => {
    const samples = Int16Array.from({ length: 500 }, (_, i) => (i * 7919) % 65536 - 32768);
    const bytes = new Uint8Array(samples.buffer);
    for (const size of [1, 3, 7, 64, 999]) {
      const pcm = new PcmBytes();
      const out: number[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(...pcm.push(bytes.subarray(i, i + size)));
      assert.deepEqual(out, [...samples], `pieces of ${size}`);
    }
  });
});
