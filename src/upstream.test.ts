import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, InterruptedError } from './errors.js';
import { Countdown, isNetworkFailure, kindOfHttpStatus, UpstreamCall, upstreamError, type UpstreamNoun } from './upstream.js';

describe('upstream errors', () => {
  const statuses: ReadonlyArray<readonly [number | undefined, string]> = [
    [429, 'limit'],
    [401, 'rejected'],
    [403, 'rejected'],
    [408, 'timeout'],
    [500, 'unavailable'],
    [502, 'unavailable'],
    [400, 'internal'],
    [404, 'internal'],
    // An error inside an open stream has no status: the service failed mid-answer.
    [undefined, 'unavailable'],
  ];
  for (const [status, kind] of statuses) it(`HTTP ${status ?? 'none'} → ${kind}`, () => assert.equal(kindOfHttpStatus(status), kind));

  for (const noun of ['language model', 'speech engine'] as const satisfies readonly UpstreamNoun[]) {
    it(`${noun}: rejected credentials are the service being unavailable, not retryable; messages are safe and name it`, () => {
      const error = upstreamError(noun, 'rejected', new Error('invalid key sk-123'));
      assert.equal(error.kind, 'unavailable');
      assert.equal(error.retryable, false);
      assert.doesNotMatch(error.message, /sk-123/u);
      assert.equal(error.message, `the ${noun} rejected the server's credentials`);
      assert.equal(upstreamError(noun, 'limit', undefined).retryable, true);
      assert.equal(upstreamError(noun, 'unavailable', undefined).message, `the ${noun} is unavailable`);
      assert.equal(upstreamError(noun, 'internal', undefined).message, 'internal error');
    });
  }

  it('connection failures are recognised through causes', () => {
    assert.ok(isNetworkFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })));
    assert.ok(isNetworkFailure(Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
    assert.ok(!isNetworkFailure(new Error('something else')));
  });
});

describe('UpstreamCall', () => {
  it('an aborted request decides: its reason wins over what was thrown', () => {
    const timeout = upstreamError('speech engine', 'timeout', undefined);
    const caller = new AbortController();
    const call = new UpstreamCall('speech engine', caller.signal);
    caller.abort(timeout);
    assert.equal(call.fail(new Error('aborted')), timeout);
    const interrupted = new AbortController();
    interrupted.abort(new InterruptedError());
    assert.equal(new UpstreamCall('speech engine', interrupted.signal).fail(new Error('aborted')).kind, 'interrupted');
    assert.equal(new UpstreamCall('speech engine', new AbortController().signal).fail(new Error('odd')).kind, 'internal');
    call.close();
  });

  it("reads the kind with the provider's own function; an AppError stays as it is", () => {
    const call = new UpstreamCall('language model', new AbortController().signal);
    const limited = call.fail(new Error('HTTP 429'), () => 'limit');
    assert.equal(limited.kind, 'limit');
    assert.equal(limited.message, 'the language model is busy, please try again shortly');
    const own = new AppError('bad_input', 'mine');
    assert.equal(call.fail(own, () => 'internal'), own);
    call.close();
  });

  it('a countdown aborts the request with a timeout naming the service', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const call = new UpstreamCall('language model', new AbortController().signal);
    call.countdown(1000, 'no text within 1000 ms');
    t.mock.timers.tick(1000);
    assert.ok(call.signal.reason instanceof AppError);
    assert.equal(call.fail(new Error('aborted')).message, 'the language model did not answer in time');
    call.close();
  });

  it('close() aborts an unfinished request, leaves a completed one, and lets go of the caller', () => {
    const caller = new AbortController();
    const unfinished = new UpstreamCall('speech engine', caller.signal);
    unfinished.close();
    assert.equal((unfinished.signal.reason as AppError).kind, 'interrupted');
    const done = new UpstreamCall('speech engine', caller.signal);
    done.complete();
    done.close();
    caller.abort(new InterruptedError());
    assert.equal(done.signal.aborted, false, 'a closed call no longer follows the caller');
  });
});

describe('Countdown', () => {
  it('expires only after a full period without progress', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const controller = new AbortController();
    const timer = new Countdown(1000, () => controller.abort(upstreamError('speech engine', 'timeout', undefined)));
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
    let expired = false;
    new Countdown(1000, () => (expired = true)).stop();
    t.mock.timers.tick(5000);
    assert.equal(expired, false);
  });
});
