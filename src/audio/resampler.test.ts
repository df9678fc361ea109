import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { convertChannels, Resampler, speexQuality } from './resampler.js';

function tone(frequency: number, rate: number, seconds: number, amplitude = 0.5): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * frequency * i) / rate));
  return out;
}

function zeroCrossings(samples: Int16Array, channels = 1, channel = 0): number {
  let count = 0;
  let previous = 0;
  for (let i = channel; i < samples.length; i += channels) {
    const sign = Math.sign(samples[i]!);
    if (sign !== 0 && previous !== 0 && sign !== previous) count++;
    if (sign !== 0) previous = sign;
  }
  return count;
}

/** Signal-to-error ratio (dB) against the ideal tone at the output rate, edges excluded. */
function snrDb(samples: Int16Array, frequency: number, rate: number, amplitude = 0.5): number {
  let signal = 0;
  let error = 0;
  const edge = Math.round(rate * 0.01);
  for (let i = edge; i < samples.length - edge; i++) {
    const ideal = amplitude * 32767 * Math.sin((2 * Math.PI * frequency * i) / rate);
    signal += ideal * ideal;
    error += (samples[i]! - ideal) ** 2;
  }
  return 10 * Math.log10(signal / error);
}

describe('Resampler', () => {
  const resamplers: Resampler[] = [];
  const make = (quality: 'best' | 'medium' | 'fastest') => {
    const r = new Resampler({ quality });
    resamplers.push(r);
    return r;
  };
  after(async () => {
    for (const r of resamplers) await r.close();
  });

  for (const quality of ['fastest', 'medium', 'best'] as const) {
    it(`${quality}: a 1 kHz tone 22050 → 48000 keeps its frequency, length and shape`, async () => {
      const input = tone(1000, 22050, 1);
      const out = await make(quality).resample(input, 1, 22050, 48000);
      assert.ok(Math.abs(out.length - 48000) <= 1, `length ${out.length}`);
      assert.ok(Math.abs(zeroCrossings(out) - zeroCrossings(input)) <= 2, `crossings ${zeroCrossings(out)} vs ${zeroCrossings(input)}`);
      const snr = snrDb(out, 1000, 48000);
      assert.ok(snr > 60, `SNR ${snr.toFixed(1)} dB`);
    });
  }

  it('down-sampling removes a tone above the new Nyquist (band-limited, not decimated)', async () => {
    const out = await make('fastest').resample(tone(10_000, 48000, 0.5), 1, 48000, 16000);
    const middle = out.subarray(400, out.length - 400);
    const peak = middle.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(peak < 0.01 * 16384, `alias peak ${peak}`);
  });

  it('equal rates return the input itself', async () => {
    const input = tone(440, 48000, 0.1);
    assert.equal(await make('fastest').resample(input, 1, 48000, 48000), input);
  });

  it('stereo input keeps its channels apart', async () => {
    const left = tone(500, 22050, 0.5);
    const right = tone(1500, 22050, 0.5);
    const interleaved = new Int16Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      interleaved[2 * i] = left[i]!;
      interleaved[2 * i + 1] = right[i]!;
    }
    const out = await make('fastest').resample(interleaved, 2, 22050, 48000);
    assert.equal(out.length % 2, 0);
    assert.ok(Math.abs(zeroCrossings(out, 2, 0) - zeroCrossings(left)) <= 2);
    assert.ok(Math.abs(zeroCrossings(out, 2, 1) - zeroCrossings(right)) <= 2);
  });

  it('clamps overshoot instead of wrapping around', async () => {
    // A full-scale square wave rings past full scale after band-limiting (Gibbs).
    const square = Int16Array.from({ length: 22050 }, (_, i) => (Math.floor(i / 100) % 2 === 0 ? 32767 : -32768));
    const out = await make('best').resample(square, 1, 22050, 48000);
    const ratio = 48000 / 22050;
    for (let period = 1; period < 100; period++) {
      const plateauMiddle = Math.round((period * 200 + 50) * ratio);
      assert.ok(out[plateauMiddle]! > 0, `sample ${plateauMiddle} wrapped to ${out[plateauMiddle]}`);
    }
    assert.equal(Math.max(...out), 32767);
  });

  it('long audio is converted whole, in blocks, with no seam', async () => {
    const seconds = 20; // far more than one block of the WASM scratch area
    const out = await make('fastest').resample(tone(1000, 22050, seconds), 1, 22050, 48000);
    assert.equal(out.length, 48000 * seconds);
    const snr = snrDb(out, 1000, 48000);
    assert.ok(snr > 60, `SNR ${snr.toFixed(1)} dB`);
  });

  const lengths: ReadonlyArray<readonly [number, number, number, number]> = [
    [22050, 48000, 1, 1],
    [22050, 48000, 1, 12345],
    [24000, 48000, 1, 777],
    [44100, 48000, 2, 1001],
    [48000, 16000, 1, 4799],
    [16000, 48000, 1, 3],
  ];
  for (const [from, to, channels, frames] of lengths) {
    it(`${frames} frames ${from} → ${to} (${channels} ch) give ceil(frames · to / from) frames`, async () => {
      const out = await make('medium').resample(new Int16Array(frames * channels).fill(1000), channels, from, to);
      assert.equal(out.length, Math.ceil((frames * to) / from) * channels);
    });
  }

  it('the same input converts to the same output on every call (no state carried over)', async () => {
    const resampler = make('fastest');
    const input = tone(700, 22050, 0.2);
    const first = await resampler.resample(input, 1, 22050, 48000);
    await resampler.resample(tone(3000, 22050, 0.1), 1, 22050, 48000);
    assert.deepEqual(await resampler.resample(input, 1, 22050, 48000), first);
  });

  it('works again after close', async () => {
    const resampler = make('fastest');
    const input = tone(700, 22050, 0.05);
    const before = await resampler.resample(input, 1, 22050, 48000);
    await resampler.close();
    assert.deepEqual(await resampler.resample(input, 1, 22050, 48000), before);
  });
});

describe('speexQuality', () => {
  it('maps the named levels onto speex levels, fastest cheapest', () => {
    assert.ok(speexQuality('fastest') < speexQuality('medium'));
    assert.ok(speexQuality('medium') < speexQuality('best'));
    assert.equal(speexQuality('best'), 10);
  });
  it('takes speex levels 0..10 as they are', () => {
    assert.equal(speexQuality(0), 0);
    assert.equal(speexQuality(7), 7);
  });
  for (const bad of [-1, 11, 2.5]) {
    it(`refuses ${bad}`, () => assert.throws(() => new Resampler({ quality: bad }), RangeError));
  }
});

describe('convertChannels', () => {
  const cases: ReadonlyArray<readonly [string, number[], number, number, number[]]> = [
    ['same layout: untouched', [1, 2, 3], 1, 1, [1, 2, 3]],
    ['mono → stereo duplicates', [1, -2, 3], 1, 2, [1, 1, -2, -2, 3, 3]],
    ['mono → 3 channels duplicates', [7, 8], 1, 3, [7, 7, 7, 8, 8, 8]],
    ['stereo → mono averages', [2, 4, -3, -5, 1, 2], 2, 1, [3, -4, 2]],
    ['stereo → 4 channels repeats the pair', [1, 2], 2, 4, [1, 2, 1, 2]],
    ['extremes do not overflow', [32767, 32767, -32768, -32768], 2, 1, [32767, -32768]],
  ];
  for (const [name, input, from, to, expected] of cases) {
    it(name, () => assert.deepEqual(Array.from(convertChannels(Int16Array.from(input), from, to)), expected));
  }
});
