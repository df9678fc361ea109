import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkPcm, framesPerChunk, PcmChunker, type PcmChunk } from './chunker.js';

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
