import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { largestHeld, percentile, playback, shouldContinue, type ArrivedChunk } from '../../bench/load/playback.js';

const chunks = (...pairs: Array<[number, number]>): ArrivedChunk[] => pairs.map(([atMs, durationMs]) => ({ atMs, durationMs }));

const cases: Array<{ name: string; chunks: ArrivedChunk[]; buffer: number; late: number; worst: number; stall: number; audio: number }> = [
  { name: 'no chunks', chunks: [], buffer: 200, late: 0, worst: Number.NaN, stall: 0, audio: 0 },
  { name: 'one chunk keeps the whole buffer', chunks: chunks([0, 40]), buffer: 200, late: 0, worst: -200, stall: 0, audio: 40 },
  // Playback starts at 200; chunk 1 is due at 240, chunk 2 at 280.
  { name: 'everything at once', chunks: chunks([0, 40], [0, 40], [0, 40]), buffer: 200, late: 0, worst: -240, stall: 0, audio: 120 },
  { name: 'arriving exactly when due is in time', chunks: chunks([0, 40], [240, 40]), buffer: 200, late: 0, worst: 0, stall: 0, audio: 80 },
  { name: 'one millisecond after it was due stutters', chunks: chunks([0, 40], [241, 40]), buffer: 200, late: 1, worst: 1, stall: 1, audio: 80 },
  {
    // Chunk 1 is 60 ms late (due 240, arrives 300) and plays 300–340; chunk 2 is due at 340 and in time.
    name: 'after a stutter the next chunk is due from the delayed playback',
    chunks: chunks([0, 40], [300, 40], [320, 40]),
    buffer: 200,
    late: 1,
    worst: 60,
    stall: 60,
    audio: 120,
  },
  {
    name: 'real time with a margin: the worst lateness is the smallest margin',
    chunks: chunks([0, 100], [100, 100], [250, 100], [390, 100]),
    buffer: 200,
    late: 0,
    // due: 300, 400, 500 → lateness −200, −150, −110
    worst: -110,
    stall: 0,
    audio: 400,
  },
  {
    name: 'no buffer: a stream slower than real time stutters at every chunk',
    chunks: chunks([0, 10], [20, 10], [40, 10]),
    buffer: 0,
    late: 2,
    worst: 10,
    stall: 20,
    audio: 30,
  },
];

for (const c of cases) {
  test(`playback: ${c.name}`, () => {
    const result = playback(c.chunks, c.buffer);
    assert.equal(result.lateChunks, c.late);
    assert.deepEqual(result.worstLatenessMs, c.worst);
    assert.equal(result.stallMs, c.stall);
    assert.equal(result.audioMs, c.audio);
  });
}

test('percentile is nearest-rank', () => {
  assert.ok(Number.isNaN(percentile([], 0.5)));
  assert.equal(percentile([5], 0.99), 5);
  assert.equal(percentile([4, 1, 3, 2], 0.5), 2);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99), 10);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
});

test('largestHeld is the largest level without a stuttering stream, not the last', () => {
  assert.equal(largestHeld([]), 0);
  assert.equal(largestHeld([{ level: 10, stuttering: 1 }]), 0);
  assert.equal(
    largestHeld([
      { level: 10, stuttering: 0 },
      { level: 25, stuttering: 3 },
      { level: 50, stuttering: 0 },
      { level: 100, stuttering: 40 },
    ]),
    50,
  );
});

test('shouldContinue stops after the given number of failing levels in a row', () => {
  const held = { level: 10, stuttering: 0 };
  const failed = { level: 25, stuttering: 2 };
  assert.equal(shouldContinue([], 2), true);
  assert.equal(shouldContinue([failed], 2), true);
  assert.equal(shouldContinue([failed, failed], 2), false);
  assert.equal(shouldContinue([failed, held], 2), true);
  assert.equal(shouldContinue([held, failed, failed], 2), false);
  assert.equal(shouldContinue([failed, failed, failed], 0), true);
  assert.equal(shouldContinue([failed], 1), false);
});
