import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { chunkPcm, framesPerChunk, PcmChunker, type ChunkOptions, type PcmChunk } from './chunker.js';

/** Chunks as [frames, samples] pairs, decoded from their little-endian bytes. */
function decode(chunks: PcmChunk[]): Array<[number, number[]]> {
  return chunks.map((c) => {
    const samples: number[] = [];
    for (let i = 0; i < c.data.length; i += 2) samples.push(c.data.readInt16LE(i));
    return [c.frames, samples];
  });
}

describe('framesPerChunk', () => {
  const cases: ReadonlyArray<readonly [number, number, number]> = [
    [4096, 1, 2048],
    [4096, 2, 1024],
    [4096, 3, 682], // 4096 is not a multiple of 6 bytes: rounded down
    [7, 1, 3],
    [2, 1, 1],
  ];
  for (const [bytes, channels, frames] of cases) {
    it(`${bytes} bytes, ${channels} channel(s) → ${frames} frames`, () => assert.equal(framesPerChunk(bytes, channels), frames));
  }
  it('throws when no whole frame fits', () => assert.throws(() => framesPerChunk(3, 2), RangeError));
  it('throws on zero channels', () => assert.throws(() => framesPerChunk(64, 0), RangeError));
});

describe('chunkPcm', () => {
  const cases: ReadonlyArray<readonly [string, number[], number, number, Array<[number, number[]]>]> = [
    ['exact pieces, last shorter', [1, 2, 3, 4, 5], 1, 4, [[2, [1, 2]], [2, [3, 4]], [1, [5]]]],
    ['divides evenly', [1, 2, 3, 4], 1, 4, [[2, [1, 2]], [2, [3, 4]]]],
    ['drops all-zero pieces, keeps near-silence', [0, 0, 1, 0, 0, 0, 0, -1], 1, 4, [[2, [1, 0]], [2, [0, -1]]]],
    ['all zeros → nothing', [0, 0, 0, 0, 0], 1, 4, []],
    ['empty → nothing', [], 1, 4, []],
    ['stereo: whole frames, frames counted per channel', [1, -1, 2, -2, 3, -3], 2, 8, [[2, [1, -1, 2, -2]], [1, [3, -3]]]],
    ['chunk size not a multiple of the frame: rounded down', [1, 1, 2, 2, 3, 3], 2, 10, [[2, [1, 1, 2, 2]], [1, [3, 3]]]],
    ['odd byte size, mono', [1, 2, 3, 4], 1, 5, [[2, [1, 2]], [2, [3, 4]]]],
    ['a trailing partial frame is not sent', [1, 1, 2], 2, 8, [[1, [1, 1]]]],
    ['extreme values survive', [32767, -32768], 1, 64, [[2, [32767, -32768]]]],
  ];
  for (const [name, samples, channels, bytes, expected] of cases) {
    it(name, () => assert.deepEqual(decode(chunkPcm(Int16Array.from(samples), channels, bytes)), expected));
  }

  it('every piece is at most chunk_bytes and whole frames', () => {
    const samples = Int16Array.from({ length: 10_001 * 3 }, (_, i) => (i % 7) - 3);
    for (const chunk of chunkPcm(samples, 3, 4096)) {
      assert.ok(chunk.data.length <= 4096);
      assert.equal(chunk.data.length, chunk.frames * 3 * 2);
    }
  });

  it('bytes are little-endian', () => {
    const [chunk] = chunkPcm(Int16Array.from([0x0102]), 1, 64);
    assert.deepEqual([...chunk!.data], [0x02, 0x01]);
  });

  it('pieces do not share memory with the input', () => {
    const samples = Int16Array.from([5, 6]);
    const [chunk] = chunkPcm(samples, 1, 64);
    samples[0] = 0;
    assert.equal(chunk!.data.readInt16LE(0), 5);
  });
});

describe('PcmChunker', () => {
  it('carries the remainder across pushes so only the last chunk is short', () => {
    const chunker = new PcmChunker(1, 6);
    assert.deepEqual(decode(chunker.push(Int16Array.from([1, 2]))), []);
    assert.deepEqual(decode(chunker.push(Int16Array.from([3, 4, 5, 6, 7]))), [[3, [1, 2, 3]], [3, [4, 5, 6]]]);
    assert.deepEqual(decode(chunker.push(Int16Array.from([8]))), []);
    assert.deepEqual(decode(chunker.flush()), [[2, [7, 8]]]);
    assert.deepEqual(decode(chunker.flush()), []);
  });

  it('drops all-zero chunks on push and on flush', () => {
    const chunker = new PcmChunker(1, 4);
    assert.deepEqual(decode(chunker.push(Int16Array.from([0, 0, 0, 1, 0]))), [[2, [0, 1]]]);
    assert.deepEqual(decode(chunker.flush()), []);
  });

  it('stereo frames stay whole across pushes', () => {
    const chunker = new PcmChunker(2, 8);
    assert.deepEqual(decode(chunker.push(Int16Array.from([1, 1, 2]))), []);
    assert.deepEqual(decode(chunker.push(Int16Array.from([2, 3, 3]))), [[2, [1, 1, 2, 2]]]);
    assert.deepEqual(decode(chunker.flush()), [[1, [3, 3]]]);
  });

  it('keeps its own copy of pending audio', () => {
    const chunker = new PcmChunker(1, 8);
    const input = Int16Array.from([9]);
    chunker.push(input);
    input[0] = 0;
    assert.deepEqual(decode(chunker.flush()), [[1, [9]]]);
  });
});

// ---- near-silent chunks (issue #15: a client drops every int16 chunk with peak <= 24) ---------

/** Chunks of 2 mono frames, at most 6 frames; |sample| <= 2 is near-silent. */
const small: ChunkOptions = { minPeak: 2, maxChunkBytes: 12 };

describe('chunkPcm with a minimum chunk peak', () => {
  const cases: ReadonlyArray<readonly [string, number[], Array<[number, number[]]>]> = [
    ['speech alone stays in exact chunks', [5, 5, 5, 5, 5], [[2, [5, 5]], [2, [5, 5]], [1, [5]]]],
    ['a near-silent piece goes with the speech after it', [0, 0, 5, 5, 1, -2, 6, 6], [[4, [0, 0, 5, 5]], [4, [1, -2, 6, 6]]]],
    ['a peak just above the level is speech', [0, -3, 5, 5], [[2, [0, -3]], [2, [5, 5]]]],
    ['a closing pause goes with the speech before it', [5, 5, 1, 1, 1], [[5, [5, 5, 1, 1, 1]]]],
    ['a longer pause fills the chunk up to the maximum', [5, 5, 0, 0, 1, 1, 6, 6], [[2, [5, 5]], [6, [0, 0, 1, 1, 6, 6]]]],
    [
      'a pause longer than the maximum: the rest in marked chunks',
      [5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 6],
      [[2, [5, 5]], [6, [0, 0, 3, -3, 0, 0]], [6, [0, 0, 0, 0, 6, 6]]],
    ],
    ['a closing pause longer than the maximum: marked after the last speech', [5, 5, 1, 1, 1, 1, 1, 1, 1, 1], [[6, [5, 5, 1, 1, 1, 1]], [4, [1, 3, -3, 1]]]],
    ['all near-silent → nothing', [1, 2, -2, 0, 0], []],
    ['stereo: a frame is near-silent when both channels are', [0, 0, 1, 9, 0, 0, 2, 2, 7, 0], [[2, [0, 0, 1, 9]], [3, [0, 0, 2, 2, 7, 0]]]],
  ];
  for (const [name, samples, expected] of cases) {
    const channels = name.startsWith('stereo') ? 2 : 1;
    it(name, () => assert.deepEqual(decode(chunkPcm(Int16Array.from(samples), channels, 4 * channels, { ...small, maxChunkBytes: 12 * channels })), expected));
  }

  it('rejects a maximum under two chunks, and a level outside int16', () => {
    assert.throws(() => chunkPcm(Int16Array.from([5]), 1, 4, { minPeak: 2, maxChunkBytes: 7 }), RangeError);
    assert.throws(() => chunkPcm(Int16Array.from([5]), 1, 4, { minPeak: 32767, maxChunkBytes: 8 }), RangeError);
  });
});

describe('PcmChunker with a minimum chunk peak', () => {
  it('sends the first audible chunk at once, even before a pause', () => {
    const chunker = new PcmChunker(1, 4, small);
    assert.deepEqual(decode(chunker.push(Int16Array.from([0, 0, 5, 5, 0]))), [[4, [0, 0, 5, 5]]]);
  });

  it('holds a pause until the next audio, and a later chunk that a pause follows', () => {
    const chunker = new PcmChunker(1, 4, small);
    assert.deepEqual(decode(chunker.push(Int16Array.from([5, 5, 6, 6, 1]))), [[2, [5, 5]]]);
    assert.deepEqual(decode(chunker.push(Int16Array.from([1, 7, 7, 8]))), [[2, [6, 6]], [4, [1, 1, 7, 7]]]);
    assert.deepEqual(decode(chunker.flush()), [[1, [8]]]);
  });

  it('a held chunk leaves as soon as audible audio follows it', () => {
    const chunker = new PcmChunker(1, 4, small);
    assert.deepEqual(decode(chunker.push(Int16Array.from([5, 5, 6, 6, 9]))), [[2, [5, 5]], [2, [6, 6]]]);
  });

  it('the closing pause arriving in its own push goes with the last speech', () => {
    const chunker = new PcmChunker(1, 4, small);
    assert.deepEqual(decode(chunker.push(Int16Array.from([5, 5, 6, 6]))), [[2, [5, 5]]]);
    assert.deepEqual(decode(chunker.push(Int16Array.from([1, 1, 1]))), []);
    assert.deepEqual(decode(chunker.flush()), [[5, [6, 6, 1, 1, 1]]]);
  });

  it('a closing pause after the (never held) first chunk is sent marked, not dropped', () => {
    const chunker = new PcmChunker(1, 4, small);
    assert.deepEqual(decode(chunker.push(Int16Array.from([5, 5, 0]))), [[2, [5, 5]]]);
    assert.deepEqual(decode(chunker.push(Int16Array.from([0, 0, 0]))), []);
    assert.deepEqual(decode(chunker.flush()), [[4, [0, 3, -3, 0]]]);
  });

  it('flush starts a new utterance: its first chunk is not held', () => {
    const chunker = new PcmChunker(1, 4, small);
    chunker.push(Int16Array.from([5, 5, 6, 6]));
    chunker.flush();
    assert.deepEqual(decode(chunker.push(Int16Array.from([7, 7, 1]))), [[2, [7, 7]]]);
  });
});

/** Audio made of loud and near-silent runs, cut into pushes of arbitrary sizes. */
const utterance = fc
  .record({
    channels: fc.integer({ min: 1, max: 2 }),
    chunkFrames: fc.integer({ min: 1, max: 6 }),
    extraMax: fc.integer({ min: 0, max: 12 }),
    minPeak: fc.integer({ min: 0, max: 30 }),
    runs: fc.array(fc.record({ loud: fc.boolean(), frames: fc.integer({ min: 1, max: 30 }), seed: fc.integer() }), { maxLength: 12 }),
    cuts: fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 8 }),
  })
  .map(({ channels, chunkFrames, extraMax, minPeak, runs, cuts }) => {
    const samples: number[] = [];
    for (const run of runs) {
      for (let i = 0; i < run.frames * channels; i++) {
        const noise = ((run.seed + i * 7919) % (minPeak + 1)) * (i % 2 === 0 ? 1 : -1);
        samples.push(run.loud && i % 5 === 0 ? (minPeak + 1 + Math.abs(run.seed % 1000)) * (i % 3 === 0 ? -1 : 1) : noise);
      }
    }
    const chunkBytes = chunkFrames * channels * 2;
    const options: ChunkOptions = { minPeak, maxChunkBytes: chunkBytes * 2 + extraMax * channels * 2 };
    const points = [...new Set(cuts.map((c) => Math.min(c, samples.length)))].sort((a, b) => a - b);
    const parts: Int16Array[] = [];
    let from = 0;
    for (const to of [...points, samples.length]) {
      parts.push(Int16Array.from(samples.slice(from, to)));
      from = to;
    }
    return { channels, chunkBytes, options, samples: Int16Array.from(samples), parts };
  });

const isQuietArray = (samples: Int16Array, level: number) => samples.every((s) => Math.abs(s) <= level);

type Utterance = typeof utterance extends fc.Arbitrary<infer U> ? U : never;

function peakOf(data: Buffer): number {
  let peak = 0;
  for (let i = 0; i < data.length; i += 2) peak = Math.max(peak, Math.abs(data.readInt16LE(i)));
  return peak;
}

describe('chunking properties', () => {
  const streamed = (u: Utterance) => {
    const chunker = new PcmChunker(u.channels, u.chunkBytes, u.options);
    return [...u.parts.flatMap((p) => chunker.push(p)), ...chunker.flush()];
  };

  it('no chunk is near-silent, none passes the maximum, and the audio is the input but for the marks', () => {
    fc.assert(
      fc.property(utterance, (u) => {
        for (const chunks of [streamed(u), chunkPcm(u.samples, u.channels, u.chunkBytes, u.options)]) {
          const audible = u.samples.some((s) => Math.abs(s) > u.options.minPeak);
          if (!audible) return chunks.length === 0;
          const mark = u.options.minPeak + 1;
          let at = 0;
          for (const chunk of chunks) {
            assert.ok(peakOf(chunk.data) > u.options.minPeak, 'a near-silent chunk');
            assert.ok(chunk.data.length <= u.options.maxChunkBytes, 'a chunk past the maximum');
            assert.equal(chunk.data.length, chunk.frames * u.channels * 2);
            let changed = 0;
            for (let i = 0; i < chunk.data.length / 2; i++, at++) {
              const sent = chunk.data.readInt16LE(2 * i);
              if (sent !== u.samples[at]) {
                assert.equal(Math.abs(sent), mark, 'only a mark differs from the input');
                changed++;
              }
            }
            assert.ok(changed <= 2 * u.channels);
          }
          assert.equal(at, u.samples.length, 'every sample is sent once, in order');
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('chunks stay exact unless they carry a pause: a longer chunk holds at most one audible piece', () => {
    fc.assert(
      fc.property(utterance, (u) => {
        const chunkSamples = u.chunkBytes / 2;
        for (const chunks of [streamed(u), chunkPcm(u.samples, u.channels, u.chunkBytes, u.options)]) {
          let at = 0;
          chunks.forEach((chunk, n) => {
            // The input this chunk carries (a marked chunk differs from it only by its mark).
            const input = u.samples.subarray(at, at + chunk.data.length / 2);
            at += input.length;
            let audible = 0;
            for (let from = 0; from < input.length; from += chunkSamples) {
              if (!isQuietArray(input.subarray(from, from + chunkSamples), u.options.minPeak)) audible++;
            }
            if (input.length > chunkSamples) assert.ok(audible <= 1, `chunk ${n}: ${audible} audible pieces`);
            else assert.ok(input.length === chunkSamples || n === chunks.length - 1, `chunk ${n} is short but not the last`);
          });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('streaming sends the first audible chunk in the push that completes it', () => {
    fc.assert(
      fc.property(utterance, (u) => {
        const chunker = new PcmChunker(u.channels, u.chunkBytes, u.options);
        const chunkSamples = u.chunkBytes / 2;
        let seen = 0;
        for (const part of u.parts) {
          seen += part.length;
          const out = chunker.push(part);
          for (let from = 0; from + chunkSamples <= seen; from += chunkSamples) {
            if (!isQuietArray(u.samples.subarray(from, from + chunkSamples), u.options.minPeak)) {
              // Earlier pushes had no complete audible piece: this push completed it.
              assert.ok(out.length > 0, 'the first audible chunk was held back');
              return;
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('without options, chunks are exactly the old ones: chunk_bytes pieces, all-zero ones dropped', () => {
    fc.assert(
      fc.property(utterance, (u) => {
        const chunkSamples = u.chunkBytes / 2;
        const expected: number[][] = [];
        for (let from = 0; from < u.samples.length; from += chunkSamples) {
          const piece = [...u.samples.subarray(from, from + chunkSamples)];
          if (piece.some((s) => s !== 0)) expected.push(piece);
        }
        const chunker = new PcmChunker(u.channels, u.chunkBytes);
        const chunks = [...u.parts.flatMap((p) => chunker.push(p)), ...chunker.flush()];
        assert.deepEqual(decode(chunks).map(([, s]) => s), expected);
        assert.deepEqual(decode(chunkPcm(u.samples, u.channels, u.chunkBytes)).map(([, s]) => s), expected);
      }),
      { numRuns: 300 },
    );
  });
});
