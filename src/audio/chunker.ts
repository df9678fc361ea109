import { endianness } from 'node:os';

/**
 * Cutting PCM into the pieces sent as `audio_chunk`s: exact `chunk_bytes` (rounded down to whole
 * frames), the last one possibly shorter, little-endian, and never all zeros (deployed clients
 * drop such chunks, and the contract forbids sending them).
 */

/** One piece of interleaved int16 little-endian PCM. */
export interface PcmChunk {
  readonly data: Buffer;
  /** Samples per channel in `data` (the gRPC `shape` is `[frames]` or `[frames, channels]`). */
  readonly frames: number;
}

const bigEndianHost = endianness() === 'BE';

/** Frames that fit in `chunkBytes`; throws when not even one does. */
export function framesPerChunk(chunkBytes: number, channels: number): number {
  const frameBytes = Int16Array.BYTES_PER_ELEMENT * channels;
  const frames = Math.floor(chunkBytes / frameBytes);
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  if (frames < 1) throw new RangeError(`chunk of ${chunkBytes} bytes holds no whole ${channels}-channel int16 frame`);
  return frames;
}

function isAllZero(samples: Int16Array): boolean {
  for (let i = 0; i < samples.length; i++) if (samples[i] !== 0) return false;
  return true;
}

/** A little-endian copy, independent of the input's memory (pieces may be cached). */
function toLittleEndian(samples: Int16Array): Buffer {
  const data = Buffer.allocUnsafe(samples.byteLength);
  data.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  if (bigEndianHost) data.swap16();
  return data;
}

/**
 * Interleaved int16 `samples` in pieces of `framesPerChunk(chunkBytes, channels)` frames, the
 * last one shorter when the audio does not divide evenly; all-zero pieces are dropped. A trailing
 * partial frame (a caller's bug) is ignored rather than sent misaligned.
 */
export function chunkPcm(samples: Int16Array, channels: number, chunkBytes: number): PcmChunk[] {
  const perChunk = framesPerChunk(chunkBytes, channels);
  const frames = Math.floor(samples.length / channels);
  const out: PcmChunk[] = [];
  for (let start = 0; start < frames; start += perChunk) {
    const count = Math.min(perChunk, frames - start);
    const piece = samples.subarray(start * channels, (start + count) * channels);
    if (!isAllZero(piece)) out.push({ data: toLittleEndian(piece), frames: count });
  }
  return out;
}

/**
 * The streaming form of `chunkPcm`: audio arrives in parts (one per synthesized segment) and
 * only full chunks leave until `flush`, so just the utterance's last chunk may be short.
 */
export class PcmChunker {
  readonly #channels: number;
  readonly #chunkBytes: number;
  readonly #chunkSamples: number;
  #pending: Int16Array = new Int16Array(0);

  constructor(channels: number, chunkBytes: number) {
    this.#channels = channels;
    this.#chunkBytes = chunkBytes;
    this.#chunkSamples = framesPerChunk(chunkBytes, channels) * channels;
  }

  /** The full chunks now available; the rest waits for more audio or `flush`. */
  push(samples: Int16Array): PcmChunk[] {
    if (samples.length === 0) return [];
    let all = samples;
    if (this.#pending.length > 0) {
      all = new Int16Array(this.#pending.length + samples.length);
      all.set(this.#pending);
      all.set(samples, this.#pending.length);
    }
    const fullLength = all.length - (all.length % this.#chunkSamples);
    // Copied: the caller may reuse its buffer before the next push.
    this.#pending = all.slice(fullLength);
    return chunkPcm(all.subarray(0, fullLength), this.#channels, this.#chunkBytes);
  }

  /** What is left, as a last (shorter) chunk unless it is silent or empty. */
  flush(): PcmChunk[] {
    const rest = this.#pending;
    this.#pending = new Int16Array(0);
    return chunkPcm(rest, this.#channels, this.#chunkBytes);
  }
}
