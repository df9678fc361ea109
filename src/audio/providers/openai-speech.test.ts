import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fakeSpeechAudio, startFakeOpenAiSpeech, type FakeOpenAiSpeech } from '../../../test/fakes/openai-speech-server.js';
import { AppError, InterruptedError } from '../../errors.js';
import type { Pcm } from '../provider.js';
import { OpenAiSpeechTts, type OpenAiSpeechOptions } from './openai-speech.js';

const never = new AbortController().signal;

function options(fake: FakeOpenAiSpeech, overrides: Partial<OpenAiSpeechOptions> = {}): OpenAiSpeechOptions {
  return {
    baseUrl: fake.url,
    apiKey: '',
    model: 'tts-test',
    voices: { default: 'alloy', ru: 'Nova' },
    sampleRate: 24000,
    speed: 1,
    timeoutMs: 2000,
    maxInputChars: 4096,
    ...overrides,
  };
}

async function collect(iterable: AsyncIterable<Pcm>): Promise<Pcm[]> {
  const out: Pcm[] = [];
  for await (const pcm of iterable) out.push(pcm);
  return out;
}

function joined(parts: readonly Pcm[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.samples.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part.samples, offset);
    offset += part.samples.length;
  }
  return out;
}

async function failure(iterable: AsyncIterable<Pcm>): Promise<{ error: AppError; parts: Pcm[] }> {
  const parts: Pcm[] = [];
  try {
    for await (const pcm of iterable) parts.push(pcm);
  } catch (error) {
    assert.ok(error instanceof AppError, `not an AppError: ${String(error)}`);
    return { error, parts };
  }
  assert.fail('expected the synthesis to fail');
}

describe('OpenAiSpeechTts', () => {
  let fake: FakeOpenAiSpeech;
  before(async () => {
    fake = await startFakeOpenAiSpeech();
  });
  beforeEach(() => fake.script({}));
  after(() => fake.close());

  it('posts model, input, voice and response_format pcm, and yields the PCM exactly', async () => {
    const tts = new OpenAiSpeechTts(options(fake, { apiKey: 'sk-test', speed: 1.25 }));
    const parts = await collect(tts.synthesize('Hello there.', 'alloy', never));
    const request = fake.requests.at(-1)!;
    assert.equal(request.path, '/v1/audio/speech');
    assert.deepEqual(request.body, { model: 'tts-test', input: 'Hello there.', voice: 'alloy', response_format: 'pcm', speed: 1.25 });
    assert.equal(request.headers.authorization, 'Bearer sk-test');
    assert.deepEqual(joined(parts), fakeSpeechAudio());
    assert.ok(parts.every((p) => p.sampleRate === 24000 && p.channels === 1));
  });

  it('sends no Authorization header without a key (local servers), and no speed at the normal speed', async () => {
    await collect(new OpenAiSpeechTts(options(fake)).synthesize('Hi.', 'alloy', never));
    assert.equal(fake.requests.at(-1)!.headers.authorization, undefined);
    assert.equal(fake.requests.at(-1)!.body?.speed, undefined);
  });

  it('keeps the sample rate of the config (a local server at 22050 Hz)', async () => {
    const parts = await collect(new OpenAiSpeechTts(options(fake, { sampleRate: 22050 })).synthesize('Hi.', 'alloy', never));
    assert.ok(parts.every((p) => p.sampleRate === 22050));
  });

  it('odd-sized body pieces: a split sample is joined, none lost or shifted', async () => {
    fake.script({ pieceBytes: 1001, pieceDelayMs: 1 });
    const parts = await collect(new OpenAiSpeechTts(options(fake)).synthesize('Hi.', 'alloy', never));
    assert.ok(parts.length > 1, `${parts.length} parts`);
    assert.deepEqual(joined(parts), fakeSpeechAudio());
  });

  it('yields audio as it arrives, before the body is complete', async () => {
    fake.script({ hangAfterPieces: 1 });
    const controller = new AbortController();
    const iterator = new OpenAiSpeechTts(options(fake))
      .synthesize('Hi.', 'alloy', controller.signal)
      [Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    assert.ok(first.value.samples.length > 0);
    const pending = iterator.next();
    controller.abort(new InterruptedError());
    await assert.rejects(pending, (e: unknown) => e instanceof AppError && e.kind === 'interrupted');
    await fake.waitForClose();
  });

  const statuses: ReadonlyArray<readonly [number, string, boolean]> = [
    [429, 'limit', true],
    [500, 'unavailable', true],
    [503, 'unavailable', true],
    [401, 'unavailable', false],
    [403, 'unavailable', false],
    [400, 'internal', true],
  ];
  for (const [status, kind, retryable] of statuses) {
    it(`HTTP ${status} → ${kind}${retryable ? '' : ', not retryable'}, upstream text kept out of the message`, async () => {
      fake.script({ error: { status, message: 'secret upstream detail' } });
      const { error, parts } = await failure(new OpenAiSpeechTts(options(fake)).synthesize('Hi.', 'alloy', never));
      assert.equal(parts.length, 0);
      assert.equal(error.kind, kind);
      if (kind !== 'internal') assert.equal(error.retryable, retryable);
      assert.doesNotMatch(error.message, /secret/u);
    });
  }

  // Real timers: node:test's mock timers stop firing for fetch's requests after the first test
  // that used them (undici keeps a timer of its own), so these wait a short real timeout, and
  // fail fast rather than hang if the request never arrives.
  const HANG_TIMEOUT_MS = 300;
  for (const [what, script] of [
    ['no answer', { hangBeforeHeaders: true }],
    ['headers but no audio', { hangAfterPieces: 0 }],
  ] as const) {
    it(`${what} within timeout_ms → timeout, and the request is closed`, { timeout: 10_000 }, async () => {
      fake.script(script);
      const index = fake.requests.length;
      const { error, parts } = await failure(new OpenAiSpeechTts(options(fake, { timeoutMs: HANG_TIMEOUT_MS })).synthesize('Hi.', 'alloy', never));
      assert.equal(error.kind, 'timeout');
      assert.equal(parts.length, 0);
      await fake.waitForClose(index);
    });
  }

  it('a stall after audio started → timeout after the audio already yielded', { timeout: 10_000 }, async () => {
    fake.script({ hangAfterPieces: 1 });
    const index = fake.requests.length;
    const { error, parts } = await failure(new OpenAiSpeechTts(options(fake, { timeoutMs: HANG_TIMEOUT_MS })).synthesize('Hi.', 'alloy', never));
    assert.equal(error.kind, 'timeout');
    assert.ok(parts.length > 0);
    await fake.waitForClose(index);
  });

  it('a connection dropped mid-stream → unavailable', async () => {
    fake.script({ dropAfterPieces: 2 });
    const { error, parts } = await failure(new OpenAiSpeechTts(options(fake)).synthesize('Hi.', 'alloy', never));
    assert.equal(error.kind, 'unavailable');
    assert.ok(parts.length > 0);
  });

  it('nothing listening → unavailable', async () => {
    const closed = await startFakeOpenAiSpeech();
    const url = closed.url;
    await closed.close();
    const { error } = await failure(new OpenAiSpeechTts({ ...options(fake), baseUrl: url }).synthesize('Hi.', 'alloy', never));
    assert.equal(error.kind, 'unavailable');
  });

  it('a 200 that is not audio, or holds none → unavailable', async () => {
    fake.script({ contentType: 'application/json' });
    assert.equal((await failure(new OpenAiSpeechTts(options(fake)).synthesize('Hi.', 'alloy', never))).error.kind, 'unavailable');
    fake.script({ audio: new Int16Array(0) });
    assert.equal((await failure(new OpenAiSpeechTts(options(fake)).synthesize('Hi.', 'alloy', never))).error.kind, 'unavailable');
  });

  it('the consumer stopping early closes the request', async () => {
    fake.script({ pieceBytes: 480, pieceDelayMs: 5 });
    for await (const pcm of new OpenAiSpeechTts(options(fake)).synthesize('Hi.', 'alloy', never)) {
      assert.ok(pcm.samples.length > 0);
      break;
    }
    await fake.waitForClose();
  });

  it('an already aborted signal sends nothing', async () => {
    const before = fake.requests.length;
    const controller = new AbortController();
    controller.abort(new InterruptedError());
    const { error } = await failure(new OpenAiSpeechTts(options(fake)).synthesize('Hi.', 'alloy', controller.signal));
    assert.equal(error.kind, 'interrupted');
    assert.equal(fake.requests.length, before);
  });

  it('a text longer than max_input_chars goes as several requests, in order', async () => {
    const before = fake.requests.length;
    const tts = new OpenAiSpeechTts(options(fake, { maxInputChars: 20 }));
    const parts = await collect(tts.synthesize('First sentence here. Second one follows.', 'alloy', never));
    const inputs = fake.requests.slice(before).map((r) => r.body?.input);
    assert.deepEqual(inputs, ['First sentence here.', 'Second one follows.']);
    assert.equal(joined(parts).length, 2 * fakeSpeechAudio().length);
  });

  it('voices: per language from config, by the text\'s script, explicit configured ones in their own spelling', () => {
    const tts = new OpenAiSpeechTts(options(fake));
    assert.equal(tts.resolveVoice('Hello.', {}), 'alloy');
    assert.equal(tts.resolveVoice('Привет.', {}), 'Nova');
    assert.equal(tts.resolveVoice('Hello.', { language: 'ru' }), 'Nova');
    assert.equal(tts.resolveVoice('Hello.', { voice: 'nova' }), 'Nova');
    assert.equal(tts.resolveVoice('Hello.', { voice: 'en-us' }), 'alloy');
  });

  it('warm: no network; a key is required for api.openai.com only', async () => {
    await new OpenAiSpeechTts(options(fake)).warm();
    await assert.rejects(new OpenAiSpeechTts({ ...options(fake), baseUrl: 'https://api.openai.com/v1' }).warm(), AppError);
    await new OpenAiSpeechTts({ ...options(fake), baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-x' }).warm();
    await assert.rejects(new OpenAiSpeechTts({ ...options(fake), baseUrl: 'not a url' }).warm(), AppError);
  });
});
