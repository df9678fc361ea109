import { strict as assert } from 'node:assert';
import { setTimeout as tick } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { DeepPartial } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { ManualClock } from '../../src/admission/clock.js';
import { AppError } from '../../src/errors.js';
import { RequestPhase, type InterruptResponse, type StreamRequest, type StreamingServiceClient } from '../../src/gen/streaming.js';
import type { LlmEvent, LlmProvider } from '../../src/llm/provider.js';
import { captureLog } from '../support/log-capture.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

/**
 * Admission limits over real gRPC: token buckets per device and per peer (a clock the test
 * moves), concurrent answers per device, the stream duration limit, and no slot left behind.
 */

type Overrides = DeepPartial<{ -readonly [K in keyof Config]: Config[K] }>;
const OTHER_ID = 'OTHER-MAC-0002';

function commit(sessionId: string, hardwareId = HARDWARE_ID, prompt = 'hello'): StreamRequest {
  return { prompt, hardwareId, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 };
}

function collect(sessionId: string, hardwareId = HARDWARE_ID, seq = 1): StreamRequest {
  return { prompt: '', hardwareId, sessionId, phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: seq, chunkText: 'hello' };
}

function interrupt(client: StreamingServiceClient, hardwareId: string): Promise<InterruptResponse> {
  return promisify<{ hardwareId: string }, InterruptResponse>(client.interruptSession.bind(client))({ hardwareId });
}


async function metricsText(t: TestServer): Promise<string> {
  return (await fetch(`${t.httpUrl}/metrics`)).text();
}

function counter(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function answersRunning(t: TestServer): Promise<number> {
  const body = (await (await fetch(`${t.httpUrl}/status`)).json()) as { limits: { answers_running: number } };
  return body.limits.answers_running;
}

/** Waits (bounded) for the server to finish a call the client already gave up on. */
async function untilNoAnswerRuns(t: TestServer): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await answersRunning(t)) === 0) return;
    await tick(10);
  }
  assert.fail('an answer slot is still held');
}

async function expectCompleted(t: TestServer, request: StreamRequest): Promise<void> {
  const result = await readStream(t.client.streamAudio(request));
  assert.equal(result.status.code, status.OK, result.status.details);
  assert.equal(kinds(result.messages).at(-1), 'endMessage');
}

async function expectExhausted(t: TestServer, request: StreamRequest, pattern: RegExp): Promise<void> {
  const result = await readStream(t.client.streamAudio(request));
  assert.equal(result.status.code, status.RESOURCE_EXHAUSTED, result.status.details);
  assert.deepEqual(kinds(result.messages), ['errorMessage'], 'exactly one error_message, then the status');
  const message = result.messages[0].content;
  assert.ok(message?.$case === 'errorMessage');
  assert.match(message.errorMessage, pattern);
}

async function withServer(overrides: Overrides, work: (t: TestServer, clock: ManualClock) => Promise<void>, llm?: LlmProvider): Promise<void> {
  const clock = new ManualClock();
  const t = await startTestServer(testConfig(overrides), { clock, ...(llm ? { llm } : {}) });
  try {
    await work(t, clock);
  } finally {
    await t.close();
  }
}

/** A model that says nothing (or only its first words) until its turn is aborted. */
class SilentLlm implements LlmProvider {
  readonly name = 'silent';
  readonly #say: string;
  #started: Array<() => void> = [];
  /** `say`: what it says first, before it falls silent. */
  constructor(say = '') {
    this.#say = say;
  }
  started(): Promise<void> {
    return new Promise((resolve) => this.#started.push(resolve));
  }
  async *stream(_request: unknown, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    for (const resolve of this.#started.splice(0)) resolve();
    if (this.#say !== '') yield { type: 'text', text: this.#say };
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  }
}

/** A model whose next turn does what the test says: answer, fail before or after its first sentence. */
class SwitchLlm implements LlmProvider {
  readonly name = 'switch';
  mode: 'answer' | 'fail-first' | 'fail-after' = 'answer';
  async *stream(): AsyncGenerator<LlmEvent> {
    if (this.mode === 'fail-first') throw new AppError('unavailable', 'model down');
    yield { type: 'text', text: 'Here is the first sentence. ' };
    if (this.mode === 'fail-after') throw new AppError('unavailable', 'model dropped');
    yield { type: 'text', text: 'And the second one.' };
  }
}

describe('rate limits', () => {
  test('COMMITs past the per-device bucket get one error_message and RESOURCE_EXHAUSTED, counted; the bucket refills with time', async () => {
    await withServer({ limits: { rates: { commit: { per_hardware_id: { burst: 2, per_minute: 1 } } } } }, async (t, clock) => {
      await expectCompleted(t, commit('rate-1'));
      await expectCompleted(t, commit('rate-2'));
      await expectExhausted(t, commit('rate-3'), /too many COMMIT requests for this device: try again in 60 s/);
      await expectCompleted(t, commit('rate-other', OTHER_ID));
      assert.equal(counter(await metricsText(t), 'nexy_limit_exceeded_total', 'rpc="StreamAudio",limit="rate_hardware_id"'), 1);
      clock.advance(60_000);
      await expectCompleted(t, commit('rate-4'));
      await expectExhausted(t, commit('rate-5'), /too many COMMIT requests/);
    });
  });

  test('COLLECTs from one address share its bucket, whatever the device', async () => {
    await withServer({ limits: { rates: { collect: { per_peer: { burst: 3, per_minute: 1 } } } } }, async (t) => {
      for (const id of ['DEV-1', 'DEV-2', 'DEV-3']) {
        const ok = await readStream(t.client.streamAudio(collect(`peer-${id}`, id)));
        assert.equal(ok.status.code, status.OK, ok.status.details);
      }
      const refused = await readStream(t.client.streamAudio(collect('peer-4', 'DEV-4')));
      assert.equal(refused.status.code, status.RESOURCE_EXHAUSTED);
      assert.match(refused.status.details, /too many COLLECT requests from this address/);
      assert.equal(counter(await metricsText(t), 'nexy_limit_exceeded_total', 'rpc="StreamAudio",limit="rate_peer"'), 1);
    });
  });

  test('GenerateWelcomeAudio and InterruptSession have buckets of their own', async () => {
    await withServer(
      { limits: { rates: { welcome: { per_peer: { burst: 1, per_minute: 1 } }, interrupt: { per_hardware_id: { burst: 1, per_minute: 1 } } } } },
      async (t) => {
        const first = await readStream(t.client.generateWelcomeAudio({ text: '', voice: '', language: '', sessionId: '' }));
        assert.equal(first.status.code, status.OK);
        const second = await readStream(t.client.generateWelcomeAudio({ text: '', voice: '', language: '', sessionId: '' }));
        assert.equal(second.status.code, status.RESOURCE_EXHAUSTED);
        assert.deepEqual(kinds(second.messages), ['errorMessage']);

        await interrupt(t.client, HARDWARE_ID);
        const refused = await interrupt(t.client, HARDWARE_ID).then(
          () => assert.fail('the second interrupt should be refused'),
          (error: { code: number; details: string }) => error,
        );
        assert.equal(refused.code, status.RESOURCE_EXHAUSTED);
        assert.match(refused.details, /too many interrupt requests for this device/);
        await interrupt(t.client, OTHER_ID);
        // The COMMIT bucket is untouched by all of that.
        await expectCompleted(t, commit('after-welcome'));
      },
    );
  });

  test('a refusal by a limit is one short info line, rate-limited like bad input (no warn line, no cause)', async () => {
    const { lines, logger } = captureLog();
    const config = testConfig({
      logging: { refusal_max_per_interval: 3, refusal_interval_ms: 3_600_000 },
      limits: { rates: { interrupt: { per_hardware_id: { burst: 1, per_minute: 1 } } } },
    });
    const t = await startTestServer(config, { clock: new ManualClock(), logger });
    try {
      await interrupt(t.client, HARDWARE_ID);
      for (let i = 0; i < 8; i++) {
        const refused = await interrupt(t.client, HARDWARE_ID).then(
          () => assert.fail('the interrupt should be refused'),
          (error: { code: number }) => error,
        );
        assert.equal(refused.code, status.RESOURCE_EXHAUSTED);
      }
    } finally {
      await t.close();
    }
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const refusals = parsed.filter((l) => l.msg === 'request refused');
    assert.equal(refusals.length, 3, 'three per interval, as configured, of eight refused');
    for (const line of refusals) {
      assert.deepEqual({ level: line.level, rpc: line.rpc, kind: line.kind }, { level: 'info', rpc: 'InterruptSession', kind: 'limit' });
      assert.match(String(line.reason), /^too many interrupt requests for this device/);
      assert.equal(line.cause, undefined);
      assert.equal(typeof line.rid, 'string');
    }
    for (const line of lines.filter((l) => l.includes('request refused'))) assert.ok(Buffer.byteLength(line) <= 300, line);
    assert.deepEqual(parsed.filter((l) => l.msg === 'request failed'), [], 'no per-refusal warn line');
  });

  test('limits.enabled false turns every bucket off', async () => {
    await withServer({ limits: { enabled: false, rates: { commit: { per_hardware_id: { burst: 1, per_minute: 1 } } } } }, async (t) => {
      await expectCompleted(t, commit('off-1'));
      await expectCompleted(t, commit('off-2'));
    });
  });
});

describe('answers per device', () => {
  test('a second answer for a device while one runs is RESOURCE_EXHAUSTED; other devices are served; the slot frees at the end', async () => {
    const llm = new RecordingLlm('First sentence. Second sentence.');
    await withServer(
      { limits: { max_concurrent_answers_per_hardware_id: 1 } },
      async (t) => {
        llm.hold();
        const started = llm.started();
        const running = readStream(t.client.streamAudio(commit('slot-a')));
        await started;
        await expectExhausted(t, commit('slot-b'), /too many answers running for this device \(at most 1 at once\)/);
        const otherStarted = llm.started();
        const other = readStream(t.client.streamAudio(commit('slot-other', OTHER_ID)));
        await otherStarted;
        llm.release();
        for (const result of await Promise.all([running, other])) assert.equal(result.status.code, status.OK, result.status.details);
        assert.equal(await answersRunning(t), 0);
        await expectCompleted(t, commit('slot-c'));
        assert.equal(counter(await metricsText(t), 'nexy_limit_exceeded_total', 'rpc="StreamAudio",limit="concurrent_answers"'), 1);
      },
      llm,
    );
  });

  test('no failure path keeps a slot: bad prompt, model failure before and after data, client cancel, interrupt', async () => {
    const llm = new SwitchLlm();
    await withServer(
      { limits: { max_concurrent_answers_per_hardware_id: 1 } },
      async (t) => {
        // A COMMIT with nothing to answer fails inside the turn, after its slot was taken.
        const empty = await readStream(t.client.streamAudio(commit('leak-empty', HARDWARE_ID, '   ')));
        assert.equal(empty.status.code, status.INVALID_ARGUMENT);
        await untilNoAnswerRuns(t);

        llm.mode = 'fail-first';
        const failed = await readStream(t.client.streamAudio(commit('leak-fail-first')));
        assert.equal(failed.status.code, status.UNAVAILABLE);
        await untilNoAnswerRuns(t);

        llm.mode = 'fail-after';
        // A quiet stop when the first sentence was out before the failure, else UNAVAILABLE.
        const late = await readStream(t.client.streamAudio(commit('leak-fail-after')));
        assert.ok([status.OK, status.UNAVAILABLE].includes(late.status.code), late.status.details);
        assert.notEqual(kinds(late.messages).at(-1), 'endMessage');
        await untilNoAnswerRuns(t);

        llm.mode = 'answer';
        await expectCompleted(t, commit('leak-done'));
        assert.equal(await answersRunning(t), 0);
      },
      llm,
    );

    const held = new RecordingLlm('First sentence. Second sentence.');
    await withServer(
      { limits: { max_concurrent_answers_per_hardware_id: 1 } },
      async (t) => {
        held.hold();
        let started = held.started();
        const cancelled = t.client.streamAudio(commit('leak-cancel'));
        const cancelledResult = readStream(cancelled);
        await started;
        cancelled.cancel();
        assert.equal((await cancelledResult).status.code, status.CANCELLED);
        await untilNoAnswerRuns(t);

        started = held.started();
        const interrupted = readStream(t.client.streamAudio(commit('leak-interrupt')));
        await started;
        await interrupt(t.client, HARDWARE_ID);
        assert.equal((await interrupted).status.code, status.CANCELLED);
        await untilNoAnswerRuns(t);

        held.release();
        await expectCompleted(t, commit('leak-after'));
      },
      held,
    );
  });
});

describe('stream duration', () => {
  test('a turn past max_stream_duration_ms: before any data one error_message and RESOURCE_EXHAUSTED, after data a quiet stop', async () => {
    const silent = new SilentLlm();
    await withServer(
      { limits: { max_stream_duration_ms: 60_000 } },
      async (t, clock) => {
        const started = silent.started();
        const result = readStream(t.client.streamAudio(commit('long-silent')));
        await started;
        clock.advance(59_999);
        assert.equal(clock.pending, 1, 'not yet');
        clock.advance(1);
        const ended = await result;
        assert.equal(ended.status.code, status.RESOURCE_EXHAUSTED);
        assert.deepEqual(kinds(ended.messages), ['errorMessage']);
        assert.match(ended.status.details, /a stream may stay open at most 60 s/);
        await untilNoAnswerRuns(t);
        assert.equal(counter(await metricsText(t), 'nexy_limit_exceeded_total', 'rpc="StreamAudio",limit="stream_duration"'), 1);
      },
      silent,
    );

    await withServer(
      { limits: { max_stream_duration_ms: 60_000 } },
      async (t, clock) => {
        const call = t.client.streamAudio(commit('long-talk'));
        const result = readStream(call);
        await new Promise<void>((resolve) => call.once('data', () => resolve()));
        clock.advance(60_000);
        const ended = await result;
        assert.equal(ended.status.code, status.OK, 'data was sent: the stream stops quietly');
        const seen = kinds(ended.messages);
        assert.ok(seen.includes('textChunk'));
        assert.ok(!seen.includes('endMessage') && !seen.includes('errorMessage'), seen.join(','));
        await untilNoAnswerRuns(t);
        assert.equal(clock.pending, 0, 'the timer of the ended turn is gone');
      },
      new SilentLlm('First sentence here. Second sentence here. And'),
    );
  });

  test('a turn that ends in time disarms its timer', async () => {
    await withServer({ limits: { max_stream_duration_ms: 60_000 } }, async (t, clock) => {
      await expectCompleted(t, commit('short'));
      await untilNoAnswerRuns(t);
      assert.equal(clock.pending, 0);
    });
  });
});
