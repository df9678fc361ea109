import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { levelRow, loadSettingsFromEnv } from '../../bench/load/load-bench.js';
import type { StreamReport } from '../../bench/load/load-client.js';
import { wordPieces } from '../../bench/load/word-piece-llm.js';

const stream = (prompt: string, fields: Partial<StreamReport> = {}): StreamReport => ({
  prompt,
  sentAt: 1000,
  firstTextAt: 1090,
  firstAudioAt: 1100,
  code: 0,
  lateChunks: 0,
  worstLatenessMs: -150,
  stallMs: 0,
  audioMs: 18_000,
  chunks: 420,
  ...fields,
});

test('a level counts failed and cut-off streams as stuttering; latencies of every stream that got audio', () => {
  const streams = [
    stream('a'),
    stream('b', { lateChunks: 2, worstLatenessMs: 40, stallMs: 55, firstAudioAt: 1300 }),
    stream('c', { code: 8, firstAudioAt: Number.NaN, firstTextAt: Number.NaN, audioMs: 0, worstLatenessMs: Number.NaN }),
    stream('d', { code: -1, firstAudioAt: 5000, audioMs: 2000, worstLatenessMs: 900 }),
  ];
  const notes = {
    firstSegmentAt: new Map([
      ['a', 1080],
      ['b', 1100],
      ['d', 1200],
    ]),
    requestedAt: new Map([
      ['a', 1002],
      ['b', 1004],
    ]),
  };
  const row = levelRow(4, streams, notes, 760, 2000, 190);
  assert.equal(row.stuttering, 3);
  assert.equal(row.failed, 1);
  assert.equal(row.cutOff, 1);
  // What the cut-off stream heard before the deadline counts; the failed one heard nothing.
  assert.equal(row.worstLatenessMs, 900);
  assert.equal(row.stallMsTotal, 55);
  assert.deepEqual(row.firstAudio, { p50: 300, p99: 4000 });
  assert.deepEqual(row.segmentToAudio, { p50: 200, p99: 3800 });
  assert.deepEqual(row.commitToModel, { p50: 2, p99: 4 });
  assert.equal(row.audioSeconds, 38);
  assert.equal(row.cpuMsPerAudioSecond, 20);
  assert.equal(row.mainCpuMsPerAudioSecond, 5);
  assert.equal(row.cpuCores, 0.38);
});

test('load settings: the issue scenario by default, each overridable, nonsense refused', () => {
  assert.deepEqual(loadSettingsFromEnv({}), {
    levels: [10, 25, 50, 100, 200, 400],
    bufferMs: 200,
    spreadMs: 1000,
    pieceDelayMs: 10,
    levelTimeoutMs: 120_000,
    stopAfter: 2,
  });
  assert.deepEqual(loadSettingsFromEnv({ NEXY_LOAD_LEVELS: '5, 7', NEXY_LOAD_STOP_AFTER: '0' }).levels, [5, 7]);
  assert.equal(loadSettingsFromEnv({ NEXY_LOAD_STOP_AFTER: '0' }).stopAfter, 0);
  assert.throws(() => loadSettingsFromEnv({ NEXY_LOAD_LEVELS: '10,abc' }), /NEXY_LOAD_LEVELS/);
  assert.throws(() => loadSettingsFromEnv({ NEXY_LOAD_BUFFER_MS: '-1' }), /NEXY_LOAD_BUFFER_MS/);
});

test('word pieces keep every character, a word with the space before it, long words cut', () => {
  const text = 'Paris is the capital of France, and it has been for centuries.';
  const pieces = wordPieces(text);
  assert.equal(pieces.join(''), text);
  assert.deepEqual(pieces.slice(0, 3), ['Paris', ' is', ' the']);
  assert.ok(pieces.every((p) => p.length <= 6));
  assert.ok(pieces.includes(' centu'));
});
