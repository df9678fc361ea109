import { endianness } from 'node:os';
import { concatSamples } from './silence.js';

/**
 * Cutting PCM into the pieces sent as `audio_chunk`s: exact `chunk_bytes` (rounded down to whole
 * frames), the last one possibly shorter, little-endian, and never all zeros (deployed clients
 * drop such chunks, and the contract forbids sending them).
 *
 * With `ChunkOptions` no chunk is near-silent from end to end either: a client's text-to-speech
 * path drops every int16 chunk whose peak is at or below a small level (24), which would cut the
 * pauses out of speech. A run of near-silent pieces travels in the same chunk as the speech that
 * follows it (at the end of an utterance: the speech before it), so such a chunk is longer than
 * `chunk_bytes`, up to `maxChunkBytes`. A run too long for that (a pause of more than about
 * `maxChunkBytes`) is sent in chunks of at most `maxChunkBytes` that each carry a mark: two
 * frames set to +(minPeak + 1) and −(minPeak + 1), a doublet about −62 dBFS at its peak whose
 * energy lies near the Nyquist frequency, inaudible, that keeps the chunk above the client's level.
 */

/** One piece of interleaved int16 little-endian PCM. */
export interface PcmChunk {
  readonly data: Buffer;
  /** Samples per channel in `data` (the gRPC `shape` is `[frames]` or `[frames, channels]`). */
  readonly frames: number;
}

/** How near-silence is kept out of chunks (`audio_generation.min_chunk_peak`, `max_chunk_bytes`). */
export interface ChunkOptions {
  /** A chunk whose largest |sample| is at or below this is never sent on its own. */
  readonly minPeak: number;
  /** The longest chunk that carries a near-silent run with speech; at least two chunks' worth. */
  readonly maxChunkBytes: number;
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

/** True when no |sample| exceeds `level` (an empty array is quiet). */
export function isQuiet(samples: Int16Array, level: number): boolean {
  for (let i = 0; i < samples.length; i++) {
    const sample = samples[i]!;
    if (sample > level || sample < -level) return false;
  }
  return true;
}

/** A little-endian copy, independent of the input's memory (pieces may be cached). */
function toLittleEndian(samples: Int16Array): Buffer {
  const data = Buffer.allocUnsafe(samples.byteLength);
  data.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  if (bigEndianHost) data.swap16();
  return data;
}

function concat(parts: readonly Int16Array[]): Int16Array {
  return parts.length === 1 ? parts[0]! : concatSamples(parts);
}

/**
 * Interleaved int16 `samples` in pieces of `framesPerChunk(chunkBytes, channels)` frames, the
 * last one shorter when the audio does not divide evenly. Without `options` all-zero pieces are
 * dropped; with them no piece is near-silent (see the module comment) and nothing is dropped
 * unless the whole audio is near-silent. A trailing partial frame (a caller's bug) is ignored
 * rather than sent misaligned.
 */
export function chunkPcm(samples: Int16Array, channels: number, chunkBytes: number, options?: ChunkOptions): PcmChunk[] {
  const chunker = new PcmChunker(channels, chunkBytes, options);
  return [...chunker.push(samples, true), ...chunker.flush()];
}

/**
 * The streaming form of `chunkPcm`: audio arrives in parts (one per synthesized segment) and
 * only full chunks leave until `flush`, so just the utterance's last chunk may be short.
 *
 * With `options`, a near-silent run waits for the next audible piece (or `flush`). The
 * utterance's first audible chunk leaves as soon as it is cut, so first audio is never later
 * than without options; a later audible piece followed by nothing but near-silence so far waits
 * too, so that a closing pause can travel with it.
 */
export class PcmChunker {
  readonly #channels: number;
  readonly #chunkSamples: number;
  readonly #options: ChunkOptions | undefined;
  /** `options.maxChunkBytes` in samples (whole frames). */
  readonly #maxSamples: number;
  /** Less than one chunk, waiting for more audio. */
  #pending: Int16Array = new Int16Array(0);
  /** An audible chunk not sent yet (it may still take a closing pause). */
  #held: Int16Array | undefined;
  /** Near-silent pieces after `#held` (or after what was sent), in order. */
  #quiet: Int16Array[] = [];
  /** Whether this utterance has sent a chunk yet. */
  #sent = false;

  constructor(channels: number, chunkBytes: number, options?: ChunkOptions) {
    this.#channels = channels;
    const frames = framesPerChunk(chunkBytes, channels);
    this.#chunkSamples = frames * channels;
    this.#options = options;
    this.#maxSamples = 0;
    if (options !== undefined) {
      const maxFrames = Math.floor(options.maxChunkBytes / (Int16Array.BYTES_PER_ELEMENT * channels));
      if (maxFrames < 2 * frames) throw new RangeError(`max chunk of ${options.maxChunkBytes} bytes must hold at least two chunks of ${chunkBytes} bytes`);
      if (!Number.isInteger(options.minPeak) || options.minPeak < 0 || options.minPeak >= 32767) throw new RangeError(`minimum chunk peak must be an integer in 0..32766, got ${options.minPeak}`);
      this.#maxSamples = maxFrames * channels;
    }
  }

  /**
   * The chunks now available; the rest waits for more audio or `flush`. `final` (for callers
   * that pass the whole utterance and flush at once) holds nothing back for latency's sake.
   */
  push(samples: Int16Array, final = false): PcmChunk[] {
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
    const out: Int16Array[] = [];
    for (let start = 0; start < fullLength; start += this.#chunkSamples) {
      this.#take(all.subarray(start, start + this.#chunkSamples), out);
    }
    // The held chunk leaves unless it may still end the utterance: it is not the first (first
    // audio is never delayed) and nothing audible follows it yet.
    if (this.#held !== undefined && !final) {
      const mayEnd = this.#sent && this.#isQuiet(this.#pending);
      if (!mayEnd) this.#send(this.#held, out);
    }
    return out.map((piece) => this.#chunk(piece));
  }

  /** What is left, as a last (shorter) chunk unless it is silent or empty; ready for a new utterance. */
  flush(): PcmChunk[] {
    // A trailing partial frame (a caller's bug) is not sent misaligned.
    const rest = this.#pending.subarray(0, this.#pending.length - (this.#pending.length % this.#channels));
    this.#pending = new Int16Array(0);
    const out: Int16Array[] = [];
    if (rest.length > 0) this.#take(rest, out);
    if (this.#options !== undefined && this.#quiet.length > 0) {
      // A closing pause: with the last audible chunk while it fits, the rest marked.
      const quiet = this.#quiet;
      this.#quiet = [];
      if (this.#held !== undefined) {
        const merged = [this.#held];
        let length = this.#held.length;
        while (quiet.length > 0 && length + quiet[0]!.length <= this.#maxSamples) {
          length += quiet[0]!.length;
          merged.push(quiet.shift()!);
        }
        this.#held = undefined;
        this.#send(concat(merged), out);
      }
      // Nothing audible at all: nothing to hear, nothing sent.
      if (this.#sent) this.#sendMarked(quiet, out);
    }
    if (this.#held !== undefined) this.#send(this.#held, out);
    this.#held = undefined;
    this.#quiet = [];
    this.#sent = false;
    return out.map((piece) => this.#chunk(piece));
  }

  #isQuiet(samples: Int16Array): boolean {
    return isQuiet(samples, this.#options?.minPeak ?? 0);
  }

  /** One cut piece: sent, held, or (when near-silent) kept for the next audible piece. */
  #take(piece: Int16Array, out: Int16Array[]): void {
    const quiet = this.#isQuiet(piece);
    if (this.#options === undefined) {
      if (!quiet) out.push(piece);
      return;
    }
    if (quiet) {
      this.#quiet.push(piece);
      return;
    }
    if (this.#held !== undefined) this.#send(this.#held, out);
    // The run that precedes this piece goes with it, as much as fits; what does not is marked.
    const run = this.#quiet;
    this.#quiet = [];
    let length = piece.length;
    let from = run.length;
    while (from > 0 && length + run[from - 1]!.length <= this.#maxSamples) length += run[--from]!.length;
    this.#sendMarked(run.slice(0, from), out);
    this.#held = concat([...run.slice(from), piece]);
  }

  #send(piece: Int16Array, out: Int16Array[]): void {
    if (piece === this.#held) this.#held = undefined;
    out.push(piece);
    this.#sent = true;
  }

  /** Near-silent pieces in chunks of at most the maximum, each made audible by a mark. */
  #sendMarked(run: readonly Int16Array[], out: Int16Array[]): void {
    let group: Int16Array[] = [];
    let length = 0;
    const emit = () => {
      if (group.length === 0) return;
      this.#send(this.#mark(concat(group)), out);
      group = [];
      length = 0;
    };
    for (const piece of run) {
      if (length + piece.length > this.#maxSamples) emit();
      group.push(piece);
      length += piece.length;
    }
    emit();
  }

  /** A copy with a ±(minPeak + 1) doublet in its middle frames (all channels). */
  #mark(samples: Int16Array): Int16Array {
    const level = this.#options!.minPeak + 1;
    const channels = this.#channels;
    const out = samples.slice();
    const frames = out.length / channels;
    const first = Math.max(0, Math.floor(frames / 2) - 1);
    for (let c = 0; c < channels; c++) {
      out[first * channels + c] = level;
      if (first + 1 < frames) out[(first + 1) * channels + c] = -level;
    }
    return out;
  }

  #chunk(piece: Int16Array): PcmChunk {
    return { data: toLittleEndian(piece), frames: piece.length / this.#channels };
  }
}
