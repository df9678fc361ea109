import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RecordingTts, ScriptedTts, toneWithSilence } from '../../test/support/tts-stubs.js';
import { AppError } from '../errors.js';
import type { Pcm, TtsProvider, VoiceRequest } from './provider.js';
import { EspeakTts } from './providers/espeak.js';
import { trimSilence } from './silence.js';
import { SpeechOutput, type AudioPiece, type SpeechOutputOptions } from './speech-output.js';

const base: SpeechOutputOptions = {
  sampleRate: 48000,
  channels: 1,
  chunkBytes: 4096,
  quality: 'fastest',
  cacheMaxEntries: 16,
  cacheMaxBytes: 8 * 1024 * 1024,
  silenceThreshold: 8,
  silencePadMs: 80,
  fillDigitalSilence: true,
  resampleBlockMs: 250,
};

const english = 'Hello! This is a test of the offline speech engine.';
const russian = 'Привет! Это проверка встроенного синтезатора речи.';
const never = new AbortController().signal;

/** A pure tone with digital silence around it, in as many parts as asked. */
const toneTts = (frequency: number, rate: number, seconds: number, silenceSeconds: number, parts = 1): ScriptedTts =>
  new ScriptedTts('tone', { audio: toneWithSilence(frequency, rate, seconds, silenceSeconds, parts), voice: 'tone' });

async function collect(iterable: AsyncIterable<AudioPiece>): Promise<AudioPiece[]> {
  const out: AudioPiece[] = [];
  for await (const piece of iterable) out.push(piece);
  return out;
}

function samplesOf(pieces: readonly AudioPiece[]): Int16Array {
  const bytes = Buffer.concat(pieces.map((p) => p.data));
  const out = new Int16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(2 * i);
  return out;
}

function assertWireRules(pieces: readonly AudioPiece[], options: SpeechOutputOptions): void {
  assert.ok(pieces.length > 0, 'no audio');
  const frameBytes = 2 * options.channels;
  const fullFrames = Math.floor(options.chunkBytes / frameBytes);
  pieces.forEach((piece, i) => {
    assert.equal(piece.sampleRate, options.sampleRate);
    assert.equal(piece.channels, options.channels);
    assert.ok(piece.data.length > 0 && piece.data.length <= options.chunkBytes, `piece ${i}: ${piece.data.length} bytes`);
    assert.equal(piece.data.length, piece.frames * frameBytes, `piece ${i}: whole frames`);
    if (i < pieces.length - 1) assert.equal(piece.frames, fullFrames, `piece ${i} is not the last, so it is full`);
    assert.ok(piece.data.some((b) => b !== 0), `piece ${i} is all zeros`);
  });
}

function zeroCrossings(samples: Int16Array, channels = 1): number {
  let count = 0;
  let previous = 0;
  for (let i = 0; i < samples.length; i += channels) {
    const sign = Math.sign(samples[i]!);
    if (sign !== 0 && previous !== 0 && sign !== previous) count++;
    if (sign !== 0) previous = sign;
  }
  return count;
}

describe('SpeechOutput with eSpeak', () => {
  const engine = new EspeakTts({ voices: { default: 'en-us', en: 'en-us', ru: 'ru' }, rateWpm: 175, pitch: 50, maxSegmentChars: 120 });
  const outputs: SpeechOutput[] = [];
  const make = (tts: TtsProvider, options: Partial<SpeechOutputOptions> = {}) => {
    const output = new SpeechOutput(tts, { ...base, ...options });
    outputs.push(output);
    return output;
  };
  before(async () => {
    await engine.warm();
  });
  after(async () => {
    for (const output of outputs) await output.close();
  });

  for (const [name, text] of [
    ['English', english],
    ['Russian', russian],
  ] as const) {
    it(`${name}: 48000 Hz mono int16 pieces of at most chunk_bytes, whole frames, none all zeros`, async () => {
      const pieces = await collect(make(engine).speak(text, {}, never));
      assertWireRules(pieces, base);
      const samples = samplesOf(pieces);
      const peak = samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(peak > 3000, `peak ${peak}`);
    });
  }

  it('pauses inside an utterance survive (as inaudible ±1), so nothing is cut out', async () => {
    const pieces = await collect(make(engine).speak(english, {}, never));
    const samples = samplesOf(pieces);
    let run = 0;
    let longest = 0;
    for (const s of samples) {
      run = Math.abs(s) <= 1 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    // eSpeak pauses after "Hello!"; its length depends on the rate, but it is well over 100 ms.
    assert.ok(longest > 0.1 * 48000, `longest pause ${(longest / 48).toFixed(0)} ms`);
  });

  it('without the fill, all-zero pieces are dropped and the rules still hold', async () => {
    const options = { fillDigitalSilence: false };
    const pieces = await collect(make(engine, options).speak(english, {}, never));
    assertWireRules(pieces, { ...base, ...options });
  });

  it('duration after resampling matches the engine audio after trimming (within 2%)', async () => {
    const recording = new RecordingTts(engine);
    const pieces = await collect(make(recording).speak(english, {}, never));
    const raw = recording.parts[0]!;
    assert.equal(recording.parts.length, 1);
    const trimmed = trimSilence(raw.samples, 1, raw.sampleRate, { threshold: base.silenceThreshold, padMs: base.silencePadMs });
    const before = trimmed.length / raw.sampleRate;
    const after = pieces.reduce((n, p) => n + p.frames, 0) / base.sampleRate;
    assert.ok(Math.abs(after - before) / before < 0.02, `${after.toFixed(3)} s vs ${before.toFixed(3)} s`);
  });

  it('Russian text is spoken with the ru voice', async () => {
    const utterance = await make(engine).speakCached(russian, {}, never);
    assert.equal(utterance.voice, 'ru');
    assert.equal(utterance.engine, 'espeak');
  });

  it('stereo output duplicates the channel, shape counts frames', async () => {
    const options = { channels: 2, chunkBytes: 4098 }; // not a multiple of 4: rounded down
    const pieces = await collect(make(engine, options).speak(english, {}, never));
    assertWireRules(pieces, { ...base, ...options });
    const samples = samplesOf(pieces);
    for (let i = 0; i < samples.length; i += 2) assert.equal(samples[i], samples[i + 1]);
  });

  it('an abort stops a long synthesis stream', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `This is sentence number ${i + 1} of a very long answer.`).join(' ');
    const recording = new RecordingTts(engine);
    const controller = new AbortController();
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of make(recording).speak(long, {}, controller.signal)) {
          received++;
          if (received === 3) controller.abort(new AppError('interrupted', 'interrupted'));
        }
      })(),
      { kind: 'interrupted' },
    );
    assert.equal(received, 3);
    assert.ok(recording.parts.length <= 3, `engine made ${recording.parts.length} parts after the abort`);
  });

  it('cache: a repeat returns identical bytes from the cache', async () => {
    const recording = new RecordingTts(engine);
    const output = make(recording);
    const first = await output.speakCached(english, {}, never);
    const second = await output.speakCached(english, {}, never);
    assert.equal(first.fromCache, false);
    assert.equal(second.fromCache, true);
    assert.equal(recording.calls, 1);
    assert.ok(first.durationSec > 1);
    assert.equal(second.durationSec, first.durationSec);
    assert.equal(Buffer.compare(Buffer.concat(first.pieces.map((p) => p.data)), Buffer.concat(second.pieces.map((p) => p.data))), 0);
    assertWireRules(second.pieces, base);
  });

  it('cache: another voice or language is another entry', async () => {
    const recording = new RecordingTts(engine);
    const output = make(recording);
    await output.speakCached('Good morning.', {}, never);
    const other = await output.speakCached('Good morning.', { voice: 'de' }, never);
    assert.equal(other.fromCache, false);
    assert.equal(other.voice, 'de');
    assert.equal(recording.calls, 2);
  });

  it('cache: max_entries evicts the least recently used', async () => {
    const output = make(engine, { cacheMaxEntries: 2 });
    await output.speakCached('One.', {}, never);
    await output.speakCached('Two.', {}, never);
    await output.speakCached('One.', {}, never); // One is now the most recent
    await output.speakCached('Three.', {}, never);
    assert.equal((await output.speakCached('One.', {}, never)).fromCache, true);
    assert.equal((await output.speakCached('Two.', {}, never)).fromCache, false);
  });

  it('cache: max_bytes bounds it; an utterance larger than the bound is never stored', async () => {
    const probe = await make(engine).speakCached('Short one.', {}, never);
    const bytes = probe.pieces.reduce((n, p) => n + p.data.length, 0);
    const tiny = make(engine, { cacheMaxBytes: bytes - 1 });
    await tiny.speakCached('Short one.', {}, never);
    assert.equal((await tiny.speakCached('Short one.', {}, never)).fromCache, false);

    const room = make(engine, { cacheMaxBytes: Math.floor(bytes * 1.5) });
    await room.speakCached('Short one.', {}, never);
    await room.speakCached('Short two.', {}, never); // does not fit beside the first
    assert.equal((await room.speakCached('Short two.', {}, never)).fromCache, true);
    assert.equal((await room.speakCached('Short one.', {}, never)).fromCache, false);
  });

  it('cache: concurrent requests for one text share one synthesis', async () => {
    const recording = new RecordingTts(engine);
    const output = make(recording);
    const [a, b] = await Promise.all([output.speakCached(english, {}, never), output.speakCached(english, {}, never)]);
    assert.equal(recording.calls, 1);
    assert.equal(a.durationSec, b.durationSec);
  });

  it('cache: warmCache fills it, so the first real request is a hit', async () => {
    const output = make(engine);
    await output.warmCache('Hi! Nexy is here. How can I help you today?');
    assert.equal((await output.speakCached('Hi! Nexy is here. How can I help you today?', {}, never)).fromCache, true);
  });

  it('speakCached: an abort rejects at once, and a later request synthesizes afresh', async () => {
    const recording = new RecordingTts(engine);
    const output = make(recording);
    const controller = new AbortController();
    const pending = output.speakCached(english, {}, controller.signal);
    controller.abort(new AppError('interrupted', 'interrupted'));
    await assert.rejects(pending, { kind: 'interrupted' });
    const later = await output.speakCached(english, {}, never);
    assert.equal(later.fromCache, false);
    assert.ok(later.pieces.length > 0);
  });

  it('speakCached: blank text is bad input; speak of blank text yields nothing', async () => {
    const output = make(engine);
    await assert.rejects(output.speakCached('  ', {}, never), { kind: 'bad_input' });
    assert.deepEqual(await collect(output.speak(' ', {}, never)), []);
  });
});

describe('SpeechOutput with a tone', () => {
  it('a 22050 Hz tone comes out at 48000 Hz with its frequency, length, and trimmed silence', async () => {
    const output = new SpeechOutput(toneTts(440, 22050, 2, 0.5, 7), base);
    const pieces = await collect(output.speak('tone', {}, never));
    assertWireRules(pieces, base);
    const samples = samplesOf(pieces);
    // Two seconds of tone plus exactly the pad at each end, across seven provider parts.
    const seconds = samples.length / 48000;
    const expected = 2 + (2 * base.silencePadMs) / 1000;
    assert.ok(Math.abs(seconds - expected) < 0.001, `${seconds.toFixed(4)} s, expected ${expected}`);
    const tone = samples.subarray(Math.round(0.1 * 48000), Math.round(2.05 * 48000));
    const crossings = zeroCrossings(tone);
    assert.ok(Math.abs(crossings - 2 * 440 * 1.95) <= 2, `${crossings} crossings`);
    // No seam where the parts met: the tone's sample-to-sample step never exceeds a clean sine's.
    let step = 0;
    for (let i = 1; i < tone.length; i++) step = Math.max(step, Math.abs(tone[i]! - tone[i - 1]!));
    const clean = 10000 * 2 * Math.sin((Math.PI * 440) / 48000);
    assert.ok(step <= clean * 1.05, `largest step ${step} vs ${clean.toFixed(0)}`);
    await output.close();
  });

  it('the resampling block size changes nothing in the audio (seamless blocks)', async () => {
    const render = async (resampleBlockMs: number) => {
      const output = new SpeechOutput(toneTts(1000, 22050, 1, 0.2, 3), { ...base, resampleBlockMs, fillDigitalSilence: false });
      const samples = samplesOf(await collect(output.speak('tone', {}, never)));
      await output.close();
      return samples;
    };
    const small = await render(10);
    const large = await render(60_000);
    assert.equal(small.length, large.length);
    let worst = 0;
    for (let i = 0; i < small.length; i++) worst = Math.max(worst, Math.abs(small[i]! - large[i]!));
    assert.ok(worst <= 2, `largest difference ${worst}`);
  });

  it('silence at the ends is trimmed down to the pad', async () => {
    const output = new SpeechOutput(toneTts(440, 48000, 0.5, 1, 1), { ...base, silencePadMs: 20 });
    const samples = samplesOf(await collect(output.speak('tone', {}, never)));
    // The tone's first sample is sin(0) = 0, so its audible part starts one frame late.
    assert.ok(Math.abs(samples.length - 48000 * (0.5 + 0.04)) <= 2, `${samples.length} samples`);
    assert.ok(samples.subarray(0, 960).every((s) => Math.abs(s) <= 1), 'the leading pad is silence');
    await output.close();
  });

  it('reports the engine that spoke; audio from a fallback engine is not cached', async () => {
    class Tagged extends ScriptedTts {
      fallback = true;
      override async *synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
        for await (const pcm of super.synthesize(text, voice, signal)) yield { ...pcm, engine: this.fallback ? 'backup' : 'primary', fallback: this.fallback };
      }
    }
    const tts = new Tagged('tone', { audio: toneWithSilence(440, 24000, 0.2, 0.05), voice: 'tone' });
    const output = new SpeechOutput(tts, base);
    const first = await output.speakCached('tone', {}, never);
    assert.equal(first.engine, 'backup');
    assert.equal((await output.speakCached('tone', {}, never)).fromCache, false, 'fallback audio was cached');
    tts.fallback = false;
    assert.equal((await output.speakCached('tone', {}, never)).engine, 'primary');
    const cached = await output.speakCached('tone', {}, never);
    assert.equal(cached.fromCache, true);
    assert.equal(cached.engine, 'primary');
    await output.close();
  });

  it('rejects a chunk size that holds no frame at construction', () => {
    assert.throws(() => new SpeechOutput(toneTts(440, 48000, 0.1, 0), { ...base, channels: 8, chunkBytes: 15 }), RangeError);
  });
});
