import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fillDigitalSilence, trimSilence, type TrimEnds } from './silence.js';

describe('trimSilence', () => {
  // 1000 Hz makes 1 ms one frame, so padMs reads as frames.
  const rate = 1000;
  const both: TrimEnds = { start: true, end: true };
  const cases: ReadonlyArray<
    readonly [string, number[], number, { threshold: number; padMs: number }, TrimEnds, number[]]
  > = [
    ['trims both ends, keeping the pad', [0, 0, 0, 0, 5, 9, -7, 0, 0, 0, 0], 1, { threshold: 0, padMs: 2 }, both, [0, 0, 5, 9, -7, 0, 0]],
    ['pad longer than the silence: zeros added up to it', [0, 9, 0], 1, { threshold: 0, padMs: 3 }, both, [0, 0, 0, 9, 0, 0, 0]],
    ['no silence at all: the pad is added', [4, 5], 1, { threshold: 0, padMs: 1 }, both, [0, 4, 5, 0]],
    ['only the start padded', [4, 5], 1, { threshold: 0, padMs: 2 }, { start: true, end: false }, [0, 0, 4, 5]],
    ['no pad', [0, 0, 9, 0, 9, 0], 1, { threshold: 0, padMs: 0 }, both, [9, 0, 9]],
    ['threshold counts quiet samples as silence', [1, -2, 2, 40, -3, 1], 1, { threshold: 2, padMs: 0 }, both, [40, -3]],
    ['a sample at -threshold is silent, past it is loud', [-2, -3, 0], 1, { threshold: 2, padMs: 0 }, both, [-3]],
    ['only the start', [0, 0, 7, 0, 0], 1, { threshold: 0, padMs: 0 }, { start: true, end: false }, [7, 0, 0]],
    ['only the end', [0, 0, 7, 0, 0], 1, { threshold: 0, padMs: 0 }, { start: false, end: true }, [0, 0, 7]],
    ['neither end: untouched', [0, 7, 0], 1, { threshold: 0, padMs: 0 }, { start: false, end: false }, [0, 7, 0]],
    ['all silent → empty', [0, 1, -1, 0], 1, { threshold: 1, padMs: 3 }, both, []],
    ['all silent, only the end trimmed → empty', [0, 0], 1, { threshold: 0, padMs: 0 }, { start: false, end: true }, []],
    ['empty stays empty', [], 1, { threshold: 0, padMs: 2 }, both, []],
    ['stereo: a frame is loud when any channel is', [0, 0, 0, 5, 6, 0, 0, 0], 2, { threshold: 0, padMs: 0 }, both, [0, 5, 6, 0]],
    ['stereo with pad keeps whole frames', [0, 0, 0, 0, 3, 3, 0, 0, 0, 0], 2, { threshold: 0, padMs: 1 }, both, [0, 0, 3, 3, 0, 0]],
    ['stereo padded with whole frames', [3, 4], 2, { threshold: 0, padMs: 1 }, both, [0, 0, 3, 4, 0, 0]],
  ];
  for (const [name, input, channels, options, ends, expected] of cases) {
    it(name, () => {
      assert.deepEqual(Array.from(trimSilence(Int16Array.from(input), channels, rate, options, ends)), expected);
    });
  }

  it('pad is converted from milliseconds at the given rate', () => {
    const samples = new Int16Array(48000);
    samples[24000] = 1000;
    const out = trimSilence(samples, 1, 48000, { threshold: 0, padMs: 50 });
    assert.equal(out.length, 2400 + 1 + 2400);
  });

  it('returns a view when only cutting', () => {
    const samples = Int16Array.from([0, 4, 0]);
    const out = trimSilence(samples, 1, rate, { threshold: 0, padMs: 0 });
    assert.equal(out.buffer, samples.buffer);
  });
});

describe('fillDigitalSilence', () => {
  const cases: ReadonlyArray<readonly [string, number[], number, number[]]> = [
    ['zeros alternate +1/-1 by frame', [0, 0, 0, 0], 1, [1, -1, 1, -1]],
    ['other samples untouched', [5, 0, -7, 0], 1, [5, -1, -7, -1]],
    ['stereo: both channels of a frame get the same value', [0, 0, 0, 0, 9, 0], 2, [1, 1, -1, -1, 9, 1]],
    ['empty stays empty', [], 1, []],
  ];
  for (const [name, input, channels, expected] of cases) {
    it(name, () => assert.deepEqual(Array.from(fillDigitalSilence(Int16Array.from(input), channels)), expected));
  }

  it('returns the input itself when nothing is zero, and never changes the input', () => {
    const loud = Int16Array.from([1, -1, 3]);
    assert.equal(fillDigitalSilence(loud, 1), loud);
    const quiet = Int16Array.from([0, 2]);
    fillDigitalSilence(quiet, 1);
    assert.deepEqual(Array.from(quiet), [0, 2]);
  });
});
