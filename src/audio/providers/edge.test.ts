import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeEdgeAudio, startFakeEdge, type FakeEdge } from '../../../test/fakes/edge-tts-server.js';
import { collectPcm, joinedPcm, synthesisFailure, ttsProviderContract } from '../../../test/support/tts-provider-contract.js';
import { useFake } from '../../../test/support/use-fake.js';
import { AppError } from '../../errors.js';
import { EdgeTts, type EdgeOptions } from './edge.js';
import { secMsGec } from './edge-protocol.js';

const never = new AbortController().signal;
const TOKEN = '6A5AA1D4EAFF4E9FB37E23D68491D6F4';
const NOW = 1_700_000_000_000;

function options(fake: Pick<FakeEdge, 'url'>, overrides: Partial<EdgeOptions> = {}): EdgeOptions {
  return {
    baseUrl: fake.url,
    trustedClientToken: TOKEN,
    chromiumVersion: '130.0.2849.68',
    outputFormat: 'raw-24khz-16bit-mono-pcm',
    voices: { default: 'en-US-AriaNeural', ru: 'ru-RU-SvetlanaNeural' },
    prosody: { rate: '+0%', pitch: '+0Hz', volume: '+0%' },
    timeoutMs: 2000,
    maxTextChars: 2000,
    now: () => NOW,
    ...overrides,
  };
}

describe('EdgeTts', () => {
  const fake = useFake(startFakeEdge, (f) => f.script({}));

  it('speaks the read-aloud protocol and yields the raw PCM exactly', async () => {
    const tts = new EdgeTts(options(fake(), { prosody: { rate: '+10%', pitch: '-5Hz', volume: '+0%' } }));
    const parts = await collectPcm(tts.synthesize('Fish & chips, please.', 'en-US-AriaNeural', never));
    const connection = fake().connections.at(-1)!;
    assert.equal(connection.query.get('TrustedClientToken'), TOKEN);
    assert.equal(connection.query.get('Sec-MS-GEC'), secMsGec(NOW, TOKEN));
    assert.equal(connection.query.get('Sec-MS-GEC-Version'), '1-130.0.2849.68');
    assert.match(connection.query.get('ConnectionId') ?? '', /^[0-9a-f]{32}$/u);
    assert.equal(connection.headers.origin, 'chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold');
    assert.equal(connection.outputFormat, 'raw-24khz-16bit-mono-pcm');
    assert.deepEqual(connection.ssml, {
      lang: 'en-US',
      voice: 'Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)',
      rate: '+10%',
      pitch: '-5Hz',
      volume: '+0%',
      text: 'Fish & chips, please.',
    });
    assert.deepEqual(joinedPcm(parts), fakeEdgeAudio());
    assert.ok(parts.length > 1 && parts.every((p) => p.sampleRate === 24000 && p.channels === 1));
    assert.equal(await connection.ended, 'completed');
  });

  it('the sample rate follows the output format', async () => {
    const parts = await collectPcm(new EdgeTts(options(fake(), { outputFormat: 'raw-16khz-16bit-mono-pcm' })).synthesize('Hi.', 'en-US-AriaNeural', never));
    assert.equal(fake().connections.at(-1)!.outputFormat, 'raw-16khz-16bit-mono-pcm');
    assert.ok(parts.every((p) => p.sampleRate === 16000));
  });

  const refusals: ReadonlyArray<readonly [number, string, boolean]> = [
    [429, 'limit', true],
    [403, 'unavailable', false],
    [503, 'unavailable', true],
  ];
  for (const [status, kind, retryable] of refusals) {
    it(`handshake refused with ${status} → ${kind}${retryable ? '' : ', not retryable'}`, async () => {
      fake().script({ refuseStatus: status });
      const { error } = await synthesisFailure(new EdgeTts(options(fake())).synthesize('Hi.', 'en-US-AriaNeural', never));
      assert.equal(error.kind, kind);
      assert.equal(error.retryable, retryable);
    });
  }

  for (const [what, script] of [
    ['no handshake answer', { hangHandshake: true }],
    ['no audio', { hangBeforeAudio: true }],
  ] as const) {
    it(`${what} within timeout_ms → timeout, and the connection is dropped`, async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      fake().script(script);
      const index = fake().connections.length;
      const result = synthesisFailure(new EdgeTts(options(fake(), { timeoutMs: 5000 })).synthesize('Hi.', 'en-US-AriaNeural', never));
      await fake().waitForConnection(index);
      t.mock.timers.tick(4999);
      assert.equal(fake().connections[index]!.outcome, undefined);
      t.mock.timers.tick(1);
      const { error, parts } = await result;
      assert.equal(error.kind, 'timeout');
      assert.equal(parts.length, 0);
      await fake().waitForClose(index);
    });
  }

  it('a stall mid-stream → timeout after the audio already yielded', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    fake().script({ hangAfterFrames: 1, frameBytes: 480 });
    const index = fake().connections.length;
    const iterator = new EdgeTts(options(fake(), { timeoutMs: 5000 })).synthesize('Hi.', 'en-US-AriaNeural', never)[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).done, false);
    const pending = iterator.next();
    t.mock.timers.tick(5000);
    await assert.rejects(pending, (e: unknown) => e instanceof AppError && e.kind === 'timeout');
    await fake().waitForClose(index);
  });

  it('the connection dropped or closed before turn.end → unavailable', async () => {
    for (const script of [{ dropAfterFrames: 2 }, { closeAfterFrames: 2 }, { closeAfterFrames: 0 }]) {
      fake().script(script);
      const { error } = await synthesisFailure(new EdgeTts(options(fake())).synthesize('Hi.', 'en-US-AriaNeural', never));
      assert.equal(error.kind, 'unavailable', JSON.stringify(script));
    }
  });

  it('voices: any explicit Edge voice name as given (the rest is the contract)', () => {
    const tts = new EdgeTts(options(fake()));
    assert.equal(tts.resolveVoice('Hallo.', { voice: 'de-DE-KatjaNeural' }), 'de-DE-KatjaNeural');
  });

  it('warm: no network; base_url must be a ws(s) URL', async () => {
    await new EdgeTts(options(fake())).warm();
    await assert.rejects(new EdgeTts({ ...options(fake()), baseUrl: 'https://example.test' }).warm(), AppError);
  });
});

ttsProviderContract({
  name: 'EdgeTts',
  async start() {
    const fake = await startFakeEdge();
    return {
      url: fake.url,
      audio: fakeEdgeAudio(),
      script: (s) => fake.script({ frameBytes: s.pieceBytes, frameDelayMs: s.pieceDelayMs, hangAfterFrames: s.hangAfterPieces, dropAfterFrames: s.dropAfterPieces }),
      exchanges: () => fake.connections.length,
      texts: () => fake.connections.map((c) => c.ssml?.text),
      waitForClose: (index) => fake.waitForClose(index),
      close: () => fake.close(),
    };
  },
  tts: ({ baseUrl, maxChars }) => new EdgeTts(options({ url: baseUrl }, maxChars === undefined ? {} : { maxTextChars: maxChars })),
  voices: { default: 'en-US-AriaNeural', ru: 'ru-RU-SvetlanaNeural' },
});
