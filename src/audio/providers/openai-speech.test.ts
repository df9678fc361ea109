import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeSpeechAudio, startFakeOpenAiSpeech, type FakeOpenAiSpeech } from '../../../test/fakes/openai-speech-server.js';
import { collectPcm, joinedPcm, synthesisFailure, ttsProviderContract } from '../../../test/support/tts-provider-contract.js';
import { useFake } from '../../../test/support/use-fake.js';
import { AppError } from '../../errors.js';
import { OpenAiSpeechTts, type OpenAiSpeechOptions } from './openai-speech.js';

const never = new AbortController().signal;

function options(fake: Pick<FakeOpenAiSpeech, 'url'>, overrides: Partial<OpenAiSpeechOptions> = {}): OpenAiSpeechOptions {
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

describe('OpenAiSpeechTts', () => {
  const fake = useFake(startFakeOpenAiSpeech, (f) => f.script({}));

  it('posts model, input, voice and response_format pcm, and yields the PCM exactly', async () => {
    const tts = new OpenAiSpeechTts(options(fake(), { apiKey: 'sk-test', speed: 1.25 }));
    const parts = await collectPcm(tts.synthesize('Hello there.', 'alloy', never));
    const request = fake().requests.at(-1)!;
    assert.equal(request.path, '/v1/audio/speech');
    assert.deepEqual(request.body, { model: 'tts-test', input: 'Hello there.', voice: 'alloy', response_format: 'pcm', speed: 1.25 });
    assert.equal(request.headers.authorization, 'Bearer sk-test');
    assert.deepEqual(joinedPcm(parts), fakeSpeechAudio());
    assert.ok(parts.every((p) => p.sampleRate === 24000 && p.channels === 1));
  });

  it('sends no Authorization header without a key (local servers), and no speed at the normal speed', async () => {
    await collectPcm(new OpenAiSpeechTts(options(fake())).synthesize('Hi.', 'alloy', never));
    assert.equal(fake().requests.at(-1)!.headers.authorization, undefined);
    assert.equal(fake().requests.at(-1)!.body?.speed, undefined);
  });

  it('keeps the sample rate of the config (a local server at 22050 Hz)', async () => {
    const parts = await collectPcm(new OpenAiSpeechTts(options(fake(), { sampleRate: 22050 })).synthesize('Hi.', 'alloy', never));
    assert.ok(parts.every((p) => p.sampleRate === 22050));
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
      fake().script({ error: { status, message: 'secret upstream detail' } });
      const { error, parts } = await synthesisFailure(new OpenAiSpeechTts(options(fake())).synthesize('Hi.', 'alloy', never));
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
      fake().script(script);
      const index = fake().requests.length;
      const { error, parts } = await synthesisFailure(new OpenAiSpeechTts(options(fake(), { timeoutMs: HANG_TIMEOUT_MS })).synthesize('Hi.', 'alloy', never));
      assert.equal(error.kind, 'timeout');
      assert.equal(parts.length, 0);
      await fake().waitForClose(index);
    });
  }

  it('a stall after audio started → timeout after the audio already yielded', { timeout: 10_000 }, async () => {
    fake().script({ hangAfterPieces: 1 });
    const index = fake().requests.length;
    const { error, parts } = await synthesisFailure(new OpenAiSpeechTts(options(fake(), { timeoutMs: HANG_TIMEOUT_MS })).synthesize('Hi.', 'alloy', never));
    assert.equal(error.kind, 'timeout');
    assert.ok(parts.length > 0);
    await fake().waitForClose(index);
  });

  it('a 200 that is not audio, or holds none → unavailable', async () => {
    fake().script({ contentType: 'application/json' });
    assert.equal((await synthesisFailure(new OpenAiSpeechTts(options(fake())).synthesize('Hi.', 'alloy', never))).error.kind, 'unavailable');
    fake().script({ audio: new Int16Array(0) });
    assert.equal((await synthesisFailure(new OpenAiSpeechTts(options(fake())).synthesize('Hi.', 'alloy', never))).error.kind, 'unavailable');
  });

  it('voices: per language from config, by the text\'s script, explicit configured ones in their own spelling', () => {
    const tts = new OpenAiSpeechTts(options(fake()));
    assert.equal(tts.resolveVoice('Привет.', {}), 'Nova');
    assert.equal(tts.resolveVoice('Hello.', { voice: 'nova' }), 'Nova');
  });

  it('warm: no network; a key is required for api.openai.com only', async () => {
    await new OpenAiSpeechTts(options(fake())).warm();
    await assert.rejects(new OpenAiSpeechTts({ ...options(fake()), baseUrl: 'https://api.openai.com/v1' }).warm(), AppError);
    await new OpenAiSpeechTts({ ...options(fake()), baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-x' }).warm();
    await assert.rejects(new OpenAiSpeechTts({ ...options(fake()), baseUrl: 'not a url' }).warm(), AppError);
  });
});

ttsProviderContract({
  name: 'OpenAiSpeechTts',
  async start() {
    const fake = await startFakeOpenAiSpeech();
    return {
      url: fake.url,
      audio: fakeSpeechAudio(),
      script: (s) => fake.script(s),
      exchanges: () => fake.requests.length,
      texts: () => fake.requests.map((r) => r.body?.input),
      waitForClose: (index) => fake.waitForClose(index),
      close: () => fake.close(),
    };
  },
  tts: ({ baseUrl, maxChars }) => new OpenAiSpeechTts(options({ url: baseUrl }, maxChars === undefined ? {} : { maxInputChars: maxChars })),
  voices: { default: 'alloy', ru: 'Nova' },
});
