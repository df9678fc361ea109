import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ResampleStream } from './resample-stream.js';
import { Resampler, type ResamplerQuality } from './resampler.js';
import { concatSamples } from './silence.js';

/** Deterministic noise-like speech stand-in: a few tones plus a pseudo-random component. */
function signal(frames: number, channels: number, rate: number): Int16Array {
  const out = new Int16Array(frames * channels);
  let seed = 12345;
  for (let f = 0; f < frames; f++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const noise = (seed / 2147483648 - 0.5) * 4000;
    for (let c = 0; c < channels; c++) {
      const t = f / rate;
      out[f * channels + c] = Math.round(6000 * Math.sin(2 * Math.PI * (220 + 300 * c) * t) + 3000 * Math.sin(2 * Math.PI * 3100 * t) + noise);
    }
  }
  return out;
}


/** Cuts `samples` into parts of the given frame counts (cycled). */
function cut(samples: Int16Array, channels: number, sizes: number[]): Int16Array[] {
  const parts: Int16Array[] = [];
  let i = 0;
  for (let start = 0; start < samples.length; i++) {
    const end = Math.min(samples.length, start + sizes[i % sizes.length]! * channels);
    parts.push(samples.subarray(start, end));
    start = end;
  }
  return parts;
}

describe('ResampleStream', () => {
  const resamplers: Resampler[] = [];
  after(async () => {
    for (const r of resamplers) await r.close();
  });
  /** A mono stream on a fresh 'fastest' resampler (closed after the suite). */
  const monoStream = (from: number, to: number): ResampleStream => {
    const resampler = new Resampler({ quality: 'fastest' });
    resamplers.push(resampler);
    return new ResampleStream(resampler, 1, from, to);
  };
  /** All `stream` makes of `input`: pushed, then flushed. */
  const pushFlush = async (stream: ResampleStream, input: Int16Array): Promise<Int16Array> =>
    concatSamples([await stream.push(input), await stream.flush()]);

  const cases: ReadonlyArray<readonly [ResamplerQuality, number, number, number, number[]]> = [
    ['fastest', 22050, 48000, 1, [5000, 1, 700, 33, 9000]],
    ['medium', 22050, 48000, 1, [2000, 150, 4000]],
    ['best', 22050, 48000, 1, [3000, 400, 7000]],
    ['fastest', 48000, 16000, 1, [4800, 17, 1000]],
    ['best', 44100, 48000, 2, [4410, 300, 10000]],
    ['medium', 24000, 48000, 1, [1, 2, 3, 5000]],
  ];
  for (const [quality, from, to, channels, sizes] of cases) {
    it(`${quality} ${from} → ${to}, ${channels} ch, parts ${sizes.join('/')}: the same samples as one call`, async () => {
      const resampler = new Resampler({ quality });
      resamplers.push(resampler);
      const input = signal(Math.round(from * 0.8), channels, from);
      const whole = await resampler.resample(input, channels, from, to);
      const stream = new ResampleStream(resampler, channels, from, to);
      const pieces: Int16Array[] = [];
      for (const part of cut(input, channels, sizes)) pieces.push(await stream.push(part));
      pieces.push(await stream.flush());
      const streamed = concatSamples(pieces);
      assert.equal(streamed.length, whole.length);
      let worst = 0;
      for (let i = 0; i < Math.min(streamed.length, whole.length); i++) worst = Math.max(worst, Math.abs(streamed[i]! - whole[i]!));
      assert.equal(worst, 0, `largest difference ${worst}`);
    });
  }

  it('emits as it goes, holding back only the filter context', async () => {
    const stream = monoStream(22050, 48000);
    const first = await stream.push(signal(22050, 1, 22050));
    const held = 48000 - first.length;
    assert.ok(held > 0 && held < 48000 * 0.005, `held back ${held} frames`);
  });

  it('equal rates pass through untouched', async () => {
    const stream = monoStream(48000, 48000);
    const input = signal(100, 1, 48000);
    assert.equal(await stream.push(input), input);
    assert.equal((await stream.flush()).length, 0);
  });

  it('starts afresh after close', async () => {
    const stream = monoStream(22050, 48000);
    const input = signal(2205, 1, 22050);
    const once = await pushFlush(stream, input);
    await stream.push(signal(500, 1, 22050)); // abandoned mid-signal
    stream.close();
    assert.deepEqual(await pushFlush(stream, input), once);
  });

  it('can be reused after flush', async () => {
    const stream = monoStream(22050, 48000);
    const input = signal(2205, 1, 22050);
    const once = await pushFlush(stream, input);
    const twice = await pushFlush(stream, input);
    assert.deepEqual(twice, once);
  });
});
