import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import wavefile from 'wavefile';
import { encodeWav, WavBuilder, WavError, type PcmChunk } from './wav.js';

/** The independent parser: wavefile reads the file back. */
function parse(file: Buffer) {
  const wav = new wavefile.WaveFile(file);
  const fmt = wav.fmt as { sampleRate: number; numChannels: number; audioFormat: number; bitsPerSample: number };
  const samples = Array.from(wav.getSamples(true, Int16Array) as unknown as Int16Array);
  return { fmt, bitDepth: wav.bitDepth, samples };
}

function int16Chunk(samples: number[], sampleRate = 48000, channels = 1): PcmChunk {
  return { data: Buffer.from(Int16Array.from(samples).buffer), dtype: 'int16', sampleRate, channels };
}

describe('WAV writer', () => {
  test('int16 chunks round-trip through an independent parser with rate, channels and every sample', () => {
    const file = encodeWav([int16Chunk([1, -2, 300]), int16Chunk([32767, -32768]), int16Chunk([7])]);
    const { fmt, bitDepth, samples } = parse(file);
    assert.equal(fmt.sampleRate, 48000);
    assert.equal(fmt.numChannels, 1);
    assert.equal(fmt.audioFormat, 1);
    assert.equal(bitDepth, '16');
    assert.deepEqual(samples, [1, -2, 300, 32767, -32768, 7]);
  });

  test('stereo keeps its interleaving and the header counts frames, not samples', () => {
    const builder = new WavBuilder();
    builder.add(int16Chunk([1, 2, 3, 4], 16000, 2));
    assert.equal(builder.frames, 2);
    assert.equal(builder.durationSec, 2 / 16000);
    const { fmt, samples } = parse(builder.toBuffer());
    assert.equal(fmt.sampleRate, 16000);
    assert.equal(fmt.numChannels, 2);
    assert.deepEqual(samples, [1, 2, 3, 4]);
  });

  test('a chunk that is a view into a larger buffer is read at its own offset', () => {
    const backing = Buffer.from(Int16Array.from([99, 5, 6, 99]).buffer);
    const view = backing.subarray(2, 6);
    const { samples } = parse(encodeWav([{ data: view, dtype: 'int16', sampleRate: 48000, channels: 1 }]));
    assert.deepEqual(samples, [5, 6]);
  });

  test('int16_be and float32 chunks are converted to 16-bit little-endian', () => {
    const be = Buffer.alloc(4);
    be.writeInt16BE(1000, 0);
    be.writeInt16BE(-1000, 2);
    const f32 = Buffer.from(Float32Array.from([0.5, -1, 2]).buffer);
    const file = encodeWav([
      { data: be, dtype: 'int16_be', sampleRate: 48000, channels: 1 },
      { data: f32, dtype: 'float32', sampleRate: 48000, channels: 1 },
    ]);
    assert.deepEqual(parse(file).samples, [1000, -1000, 16384, -32767, 32767]);
  });

  test('an empty file needs a fallback format', () => {
    assert.throws(() => encodeWav([]), WavError);
    const { fmt, samples } = parse(encodeWav([], { sampleRate: 48000, channels: 1 }));
    assert.equal(fmt.sampleRate, 48000);
    assert.deepEqual(samples, []);
  });

  test('a format change mid-stream, torn frames, an unknown dtype and a zero rate are refused', () => {
    assert.throws(() => encodeWav([int16Chunk([1]), int16Chunk([1], 24000)]), /format changed/);
    assert.throws(() => encodeWav([int16Chunk([1, 2, 3], 48000, 2)]), /whole frames/);
    assert.throws(() => encodeWav([{ data: Buffer.alloc(2), dtype: 'uint8', sampleRate: 48000, channels: 1 }]), /dtype/);
    assert.throws(() => encodeWav([{ data: Buffer.alloc(2), dtype: 'int16', sampleRate: 0, channels: 1 }]), /sample rate/);
  });
});
