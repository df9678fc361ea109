import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AppError } from '../../errors.js';
import { collectPcm, joinedPcm } from '../../../test/support/tts-provider-contract.js';
import { EspeakTts, type EspeakOptions } from './espeak.js';

const options: EspeakOptions = {
  voices: { default: 'en-us', en: 'en-us', ru: 'ru' },
  rateWpm: 175,
  pitch: 50,
  maxSegmentChars: 200,
  warmupText: 'Hello.',
};

const english = 'Hello! This is a test of the offline speech engine.';
const russian = 'Привет! Это проверка встроенного синтезатора речи.';


function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

const never = new AbortController().signal;

describe('EspeakTts', () => {
  const tts = new EspeakTts(options);
  before(async () => {
    await tts.warm();
  });

  it('resolves voices before warm() from the configured ones', () => {
    const cold = new EspeakTts(options);
    assert.equal(cold.resolveVoice(russian, {}), 'ru');
    assert.equal(cold.resolveVoice(english, {}), 'en-us');
    assert.equal(cold.resolveVoice(english, { voice: 'de' }), 'en-us'); // unverifiable yet
  });

  it('Russian text picks the ru voice, English the default', () => {
    assert.equal(tts.resolveVoice(russian, {}), 'ru');
    assert.equal(tts.resolveVoice(english, {}), 'en-us');
    assert.equal(tts.resolveVoice(russian, { language: 'en' }), 'ru');
  });

  it('an explicit voice the engine has wins; engine names and ids are understood', () => {
    assert.equal(tts.resolveVoice(english, { voice: 'de' }), 'de');
    assert.equal(tts.resolveVoice(english, { voice: 'gmw/en-US' }), 'en-us');
    assert.equal(tts.resolveVoice(english, { voice: 'Russian' }), 'ru');
    assert.equal(tts.resolveVoice(english, { voice: 'alloy' }), 'en-us');
  });

  it('a language the engine speaks but the config does not map', () => {
    assert.equal(tts.resolveVoice('Guten Tag', { language: 'de-DE' }), 'de');
  });

  for (const [name, text] of [
    ['English', english],
    ['Russian', russian],
  ] as const) {
    it(`${name} synthesizes audible mono PCM at the engine rate`, async () => {
      const parts = await collectPcm(tts.synthesize(text, tts.resolveVoice(text, {}), never));
      assert.ok(parts.length >= 1);
      for (const part of parts) {
        assert.equal(part.sampleRate, 22050);
        assert.equal(part.channels, 1);
      }
      const samples = joinedPcm(parts);
      const seconds = samples.length / 22050;
      assert.ok(seconds > 1.5 && seconds < 8, `${seconds.toFixed(2)} s`);
      assert.ok(rms(samples) > 500, `rms ${rms(samples).toFixed(0)}`);
    });
  }

  it('switching voices back and forth gives the same voice as before', async () => {
    // Not byte-identical: eSpeak's noise source for unvoiced sounds is random.
    const first = joinedPcm(await collectPcm(tts.synthesize(russian, 'ru', never)));
    await collectPcm(tts.synthesize(english, 'en-us', never));
    const again = joinedPcm(await collectPcm(tts.synthesize(russian, 'ru', never)));
    assert.ok(Math.abs(again.length - first.length) < first.length * 0.02, `${again.length} vs ${first.length}`);
  });

  it('an English voice reading Cyrillic is not what we get: the ru voice is much shorter', async () => {
    const spelled = joinedPcm(await collectPcm(tts.synthesize(russian, 'en-us', never)));
    const spoken = joinedPcm(await collectPcm(tts.synthesize(russian, 'ru', never)));
    assert.ok(spelled.length > spoken.length * 1.5, `${spelled.length} vs ${spoken.length}`);
  });

  it('long text comes in pieces, and an abort stops it before the next piece', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `This is sentence number ${i + 1} of a long answer.`).join(' ');
    const controller = new AbortController();
    let parts = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of tts.synthesize(long, 'en-us', controller.signal)) {
          parts++;
          controller.abort();
        }
      })(),
      (error: unknown) => error instanceof AppError && error.kind === 'interrupted',
    );
    assert.equal(parts, 1);
    const all = await collectPcm(tts.synthesize(long, 'en-us', never));
    assert.ok(all.length > 5, `${all.length} pieces`);
  });

  it('an already aborted signal synthesizes nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(collectPcm(tts.synthesize(english, 'en-us', controller.signal)), { kind: 'interrupted' });
  });

  it('an unknown voice is bad input', async () => {
    await assert.rejects(collectPcm(tts.synthesize(english, 'no-such-voice', never)), { kind: 'bad_input' });
    // The engine still works afterwards.
    assert.ok((await collectPcm(tts.synthesize(english, 'en-us', never))).length > 0);
  });

  it('blank text yields nothing', async () => {
    assert.deepEqual(await collectPcm(tts.synthesize('  ', 'en-us', never)), []);
  });

  it('rate_wpm is applied: a faster rate gives shorter audio', async () => {
    const fast = new EspeakTts({ ...options, rateWpm: 350, warmupText: undefined });
    const slow = joinedPcm(await collectPcm(tts.synthesize(english, 'en-us', never)));
    const quick = joinedPcm(await collectPcm(fast.synthesize(english, 'en-us', never)));
    assert.ok(quick.length < slow.length * 0.75, `${quick.length} vs ${slow.length}`);
  });

  it('warm() fails on a configured voice the engine lacks', async () => {
    const bad = new EspeakTts({ ...options, voices: { default: 'en-us', xx: 'no-such-voice' }, warmupText: undefined });
    await assert.rejects(bad.warm(), /no-such-voice/);
  });

  it('synthesis is fast once warm', async () => {
    await collectPcm(tts.synthesize(english, 'en-us', never));
    const started = performance.now();
    const parts = await collectPcm(tts.synthesize(english, 'en-us', never));
    const ms = performance.now() - started;
    const seconds = joinedPcm(parts).length / 22050;
    // Generous for slow CI; typically ~10 ms per second of speech.
    assert.ok(ms < seconds * 1000 * 0.5, `${ms.toFixed(1)} ms for ${seconds.toFixed(2)} s`);
  });
});
