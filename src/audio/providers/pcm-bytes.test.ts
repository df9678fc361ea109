import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PcmBytes } from './pcm-bytes.js';

describe('PcmBytes', () => {
  const bytesOf = (...values: number[]) => Uint8Array.from(values);
  it('whole little-endian samples per piece; an odd byte waits for the next piece', () => {
    const pcm = new PcmBytes();
    assert.deepEqual([...pcm.push(bytesOf(0x01, 0x00, 0xff))], [1]);
    assert.ok(pcm.pendingByte);
    assert.deepEqual([...pcm.push(bytesOf(0x7f))], [0x7fff]);
    assert.ok(!pcm.pendingByte);
    assert.deepEqual([...pcm.push(bytesOf(0x00))], []);
    assert.deepEqual([...pcm.push(bytesOf())], []);
    assert.deepEqual([...pcm.push(bytesOf(0x80, 0xfe, 0xff))], [-32768, -2]);
    assert.ok(!pcm.pendingByte);
  });

  it('any cut of a byte stream gives the same samples', () => {
    const samples = Int16Array.from({ length: 500 }, (_, i) => (i * 7919) % 65536 - 32768);
    const bytes = new Uint8Array(samples.buffer);
    for (const size of [1, 3, 7, 64, 999]) {
      const pcm = new PcmBytes();
      const out: number[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(...pcm.push(bytes.subarray(i, i + size)));
      assert.deepEqual(out, [...samples], `pieces of ${size}`);
    }
  });
});
