import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { RequestPhase, type StreamRequest } from '../gen/streaming.js';
import { CollectCommitGate, type GateTiming, type GateTransport } from './collect-commit-gate.js';

const HARDWARE_ID = '5C8E9D4A-1B2C-4D3E-8F90-A1B2C3D4E5F6';
const SESSION_ID = '0b6f3a52-3d0e-4c55-9a0f-0d5a3b9f1c11';
const TIMING: GateTiming = { debounceMs: 120, maxWaitMs: 400, collectDeadlineMs: 3000 };
const SHOT = { base64: 'UklGRhIAAABXRUJQVlA4', width: 1440, height: 900 };

interface PendingCollect {
  readonly request: StreamRequest;
  readonly signal: AbortSignal;
  readonly deadlineMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** Records every call; COLLECTs stay in flight until the test acks or fails them. */
class FakeTransport implements GateTransport<string> {
  readonly collects: PendingCollect[] = [];
  readonly commits: { request: StreamRequest; signal: AbortSignal }[] = [];
  readonly interrupts: string[] = [];

  collect(request: StreamRequest, options: { signal: AbortSignal; deadlineMs: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.collects.push({ request, signal: options.signal, deadlineMs: options.deadlineMs, resolve, reject });
      options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true });
    });
  }

  commit(request: StreamRequest, signal: AbortSignal): string {
    this.commits.push({ request, signal });
    return `stream ${this.commits.length}`;
  }

  interrupt(hardwareId: string): Promise<unknown> {
    this.interrupts.push(hardwareId);
    return Promise.resolve({ success: true });
  }

  texts(): (string | undefined)[] {
    return this.collects.map((c) => c.request.chunkText);
  }
}

/** Lets promise callbacks run (setImmediate is not mocked: only setTimeout is). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('CollectCommitGate', () => {
  let transport: FakeTransport;
  let gate: CollectCommitGate<string>;
  let collectErrors: unknown[];

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    transport = new FakeTransport();
    collectErrors = [];
    gate = new CollectCommitGate({
      hardwareId: HARDWARE_ID,
      sessionId: SESSION_ID,
      transport,
      timing: TIMING,
      onCollectError: (e) => collectErrors.push(e),
    });
  });

  afterEach(() => mock.timers.reset());

  function tick(ms: number) {
    mock.timers.tick(ms);
  }

  async function ack(index: number) {
    transport.collects[index].resolve();
    await settle();
  }

  test('interim results go out as COLLECTs with increasing chunk_seq and never start a COMMIT', async () => {
    gate.interim('what is');
    assert.equal(transport.collects.length, 0, 'debounced, not sent at once');
    tick(TIMING.debounceMs);
    assert.equal(transport.collects.length, 1);
    const first = transport.collects[0];
    assert.equal(first.request.phase, RequestPhase.REQUEST_PHASE_COLLECT);
    assert.equal(first.request.prompt, '');
    assert.equal(first.request.chunkText, 'what is');
    assert.equal(first.request.chunkSeq, 1);
    assert.equal(first.request.hardwareId, HARDWARE_ID);
    assert.equal(first.request.sessionId, SESSION_ID);
    assert.equal(first.deadlineMs, TIMING.collectDeadlineMs);
    await ack(0);
    gate.interim('the weather');
    tick(TIMING.debounceMs);
    assert.equal(transport.collects[1].request.chunkSeq, 2);
    assert.equal(transport.collects[1].request.chunkText, 'the weather');
    await ack(1);
    tick(10 * TIMING.maxWaitMs);
    await settle();
    assert.equal(transport.commits.length, 0);
    assert.equal(gate.state.readyToSend, false);
  });

  test('interims faster than the debounce are merged into one COLLECT and the newest snapshot wins', () => {
    gate.interim('what');
    tick(TIMING.debounceMs - 20);
    gate.interim('what is');
    tick(TIMING.debounceMs - 20);
    gate.interim('what is the weather');
    tick(TIMING.debounceMs - 1);
    assert.equal(transport.collects.length, 0);
    tick(1);
    assert.deepEqual(transport.texts(), ['what is the weather']);
  });

  test('merged deltas keep every piece', () => {
    gate.interim('what is');
    gate.interim('is the weather');
    tick(TIMING.debounceMs);
    assert.deepEqual(transport.texts(), ['what is the weather']);
  });

  test('steady speech is not held back past the max wait', () => {
    const step = TIMING.debounceMs - 20;
    let elapsed = 0;
    for (const word of ['one', 'two', 'three', 'four', 'five']) {
      gate.interim(word);
      if (transport.collects.length > 0) break;
      tick(step);
      elapsed += step;
    }
    assert.equal(transport.collects.length, 1);
    assert.ok(elapsed >= TIMING.maxWaitMs && elapsed < TIMING.maxWaitMs + step, `sent after ${elapsed} ms`);
  });

  test('at most one COLLECT is in flight; what arrives meanwhile goes out merged when it settles', async () => {
    gate.interim('what is');
    tick(TIMING.debounceMs);
    gate.interim('the');
    tick(TIMING.debounceMs);
    gate.interim('the weather');
    tick(TIMING.maxWaitMs);
    assert.equal(transport.collects.length, 1, 'no second COLLECT while the first is in flight');
    assert.equal(gate.state.collectInFlight, true);
    await ack(0);
    assert.deepEqual(transport.texts(), ['what is', 'the weather']);
    assert.equal(transport.collects[1].request.chunkSeq, 2);
  });

  test('the early screenshot goes out at once as a COLLECT with its dimensions', () => {
    gate.screenshot(SHOT);
    assert.equal(transport.collects.length, 1);
    const { request } = transport.collects[0];
    assert.equal(request.phase, RequestPhase.REQUEST_PHASE_COLLECT);
    assert.equal(request.screenshot, SHOT.base64);
    assert.equal(request.screenWidth, SHOT.width);
    assert.equal(request.screenHeight, SHOT.height);
    assert.equal(request.chunkSeq, 1);
    assert.equal(request.chunkText, undefined);
  });

  test('a screenshot takes waiting interim text along instead of waiting for the debounce', () => {
    gate.interim('what is this');
    gate.screenshot(SHOT);
    assert.equal(transport.collects.length, 1);
    assert.equal(transport.collects[0].request.chunkText, 'what is this');
    tick(TIMING.maxWaitMs);
    assert.equal(transport.collects.length, 1, 'the text is not sent twice');
  });

  test('the same screenshot is sent once; a different one is sent again', async () => {
    gate.screenshot(SHOT);
    await ack(0);
    gate.screenshot({ ...SHOT });
    assert.equal(transport.collects.length, 1);
    gate.screenshot({ ...SHOT, base64: `${SHOT.base64}AAAA` });
    assert.equal(transport.collects.length, 2);
  });

  test('a screenshot behind a COLLECT in flight is sent right after it, with no debounce', async () => {
    gate.interim('hello');
    tick(TIMING.debounceMs);
    gate.screenshot(SHOT);
    assert.equal(transport.collects.length, 1);
    await ack(0);
    assert.equal(transport.collects.length, 2);
    assert.equal(transport.collects[1].request.screenshot, SHOT.base64);
  });

  test('a final result before the key is released waits for the release', async () => {
    gate.final('what time is it');
    assert.equal(gate.state.readyToSend, true);
    tick(10 * TIMING.maxWaitMs);
    await settle();
    assert.equal(transport.commits.length, 0);
    gate.release();
    await settle();
    assert.equal(transport.commits.length, 1);
    const { request } = transport.commits[0];
    assert.equal(request.phase, RequestPhase.REQUEST_PHASE_COMMIT);
    assert.equal(request.prompt, 'what time is it');
    assert.equal(request.chunkSeq, 0);
    assert.equal(await gate.dispatched, 'stream 1');
  });

  test('exactly one COMMIT when the final result and the release repeat', async () => {
    gate.release();
    gate.final('turn on the lights');
    gate.final('turn on the lights');
    gate.release();
    await settle();
    gate.final('turn on the lights');
    gate.interim('late interim');
    tick(TIMING.maxWaitMs);
    await settle();
    assert.equal(transport.commits.length, 1);
    assert.equal(transport.commits[0].request.prompt, 'turn on the lights');
    assert.equal(transport.collects.length, 0);
    assert.equal(gate.state.dispatched, true);
  });

  test('COMMIT waits for the COLLECT in flight and for the unsent interim text, then follows them', async () => {
    gate.interim('what is');
    tick(TIMING.debounceMs);
    gate.interim('what is the weather');
    gate.release();
    gate.final('in Paris');
    await settle();
    assert.equal(transport.commits.length, 0, 'a COLLECT is still in flight');
    await ack(0);
    assert.deepEqual(transport.texts(), ['what is', 'what is the weather'], 'flushed without waiting for the debounce');
    assert.equal(transport.commits.length, 0);
    await ack(1);
    assert.equal(transport.commits.length, 1);
    assert.equal(transport.commits[0].request.prompt, 'in Paris');
  });

  test('text of a COLLECT that failed while committing rides on the COMMIT prompt', async () => {
    gate.interim('what is the weather');
    gate.release();
    gate.final('in Paris');
    await settle();
    transport.collects[0].reject(new Error('deadline exceeded'));
    await settle();
    assert.equal(transport.commits.length, 1);
    assert.equal(transport.commits[0].request.prompt, 'what is the weather in Paris');
    assert.equal(collectErrors.length, 1);
  });

  test('text of a failed COLLECT goes out again with the next one', async () => {
    gate.interim('what is');
    tick(TIMING.debounceMs);
    transport.collects[0].reject(new Error('unavailable'));
    await settle();
    assert.equal(transport.collects.length, 1, 'not retried on its own');
    gate.interim('the weather');
    tick(TIMING.debounceMs);
    assert.deepEqual(transport.texts(), ['what is', 'what is the weather']);
    assert.equal(transport.collects[1].request.chunkSeq, 2);
  });

  test('COMMIT carries the screenshot only when its COLLECT was not acknowledged', async () => {
    gate.screenshot(SHOT);
    transport.collects[0].reject(new Error('unavailable'));
    await settle();
    gate.release();
    gate.final('what is this');
    await settle();
    assert.equal(transport.commits[0].request.screenshot, SHOT.base64);
    assert.equal(transport.commits[0].request.screenWidth, SHOT.width);

    const other = new CollectCommitGate({ hardwareId: HARDWARE_ID, sessionId: 's2', transport, timing: TIMING });
    other.screenshot(SHOT);
    transport.collects[1].resolve();
    await settle();
    other.release();
    other.final('and this');
    await settle();
    assert.equal(transport.commits[1].request.screenshot, undefined);
  });

  test('cancel during the debounce: no COLLECT, no COMMIT, one InterruptSession', async () => {
    gate.interim('what is');
    tick(TIMING.debounceMs / 2);
    const cancelled = gate.cancel();
    tick(10 * TIMING.maxWaitMs);
    gate.final('the weather');
    gate.release();
    await cancelled;
    await gate.cancel();
    await settle();
    assert.equal(transport.collects.length, 0);
    assert.equal(transport.commits.length, 0);
    assert.deepEqual(transport.interrupts, [HARDWARE_ID]);
    assert.equal(await gate.dispatched, undefined);
    assert.equal(gate.state.cancelled, true);
  });

  test('cancel aborts the COLLECT in flight and a COMMIT waiting behind it', async () => {
    gate.interim('what is');
    tick(TIMING.debounceMs);
    gate.release();
    gate.final('the weather');
    await gate.cancel();
    await settle();
    assert.equal(transport.collects[0].signal.aborted, true);
    assert.equal(transport.commits.length, 0);
    assert.equal(await gate.dispatched, undefined);
    assert.equal(collectErrors.length, 0, 'an abort we asked for is not a failure');
  });

  test('cancel after dispatch aborts the COMMIT stream and interrupts the session', async () => {
    gate.release();
    gate.final('tell me a long story');
    await settle();
    const { signal } = transport.commits[0];
    assert.equal(signal.aborted, false);
    await gate.cancel();
    assert.equal(signal.aborted, true);
    assert.deepEqual(transport.interrupts, [HARDWARE_ID]);
  });
});
