import type { Resampler } from './resampler.js';

/**
 * Resampling audio that arrives in parts as one continuous signal. Converting each part on its
 * own would treat its edges as silence and leave a seam (a click, a phase jump) at every part
 * boundary. Each call here converts the new input together with enough neighbouring input for
 * the filter (history before, lookahead after), starting on an input frame that lands exactly
 * on the output grid, and emits only outputs whose whole filter support is known: the result is
 * the one-call conversion of the whole signal, part by part, at a latency of a few frames.
 */

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

const EMPTY = new Int16Array(0);

export class ResampleStream {
  readonly #resampler: Resampler;
  readonly #channels: number;
  readonly #from: number;
  readonly #to: number;
  /** Input frames each side of an output sample that the filter reads. */
  readonly #context: number;
  /** Input frames that are a multiple of this map to whole output frames. */
  readonly #align: number;
  /** Input kept for the filter, from global input frame `#bufferStart`. */
  #buffer: Int16Array = EMPTY;
  #bufferStart = 0;
  #inputFrames = 0;
  #emitted = 0;

  constructor(resampler: Resampler, channels: number, fromRate: number, toRate: number) {
    this.#resampler = resampler;
    this.#channels = channels;
    this.#from = fromRate;
    this.#to = toRate;
    this.#context = resampler.contextFrames(fromRate, toRate);
    this.#align = fromRate / gcd(fromRate, toRate);
  }

  /** Output for everything pushed so far except the last few frames (held as lookahead). */
  async push(samples: Int16Array): Promise<Int16Array> {
    if (this.#from === this.#to) return samples;
    const frames = Math.floor(samples.length / this.#channels);
    if (frames === 0) return EMPTY;
    const joined = new Int16Array(this.#buffer.length + frames * this.#channels);
    joined.set(this.#buffer);
    joined.set(samples.subarray(0, frames * this.#channels), this.#buffer.length);
    this.#buffer = joined;
    this.#inputFrames += frames;
    const ready = this.#inputFrames - this.#context;
    return ready > 0 ? this.#emit(this.#outputFrames(ready)) : EMPTY;
  }

  /** The rest of the output: the signal has ended. The stream may be used again afterwards. */
  async flush(): Promise<Int16Array> {
    if (this.#from === this.#to) return EMPTY;
    const out = await this.#emit(this.#outputFrames(this.#inputFrames));
    this.#buffer = EMPTY;
    this.#bufferStart = 0;
    this.#inputFrames = 0;
    this.#emitted = 0;
    return out;
  }

  /** Output frames whose time lies before input frame `inputFrame`: ceil(inputFrame · to / from). */
  #outputFrames(inputFrame: number): number {
    return Math.ceil((inputFrame * this.#to) / this.#from);
  }

  /** First input frame the filter needs for output frame `outputFrame`, aligned to the grid. */
  #blockStart(outputFrame: number): number {
    const first = Math.floor((outputFrame * this.#from) / this.#to) - this.#context;
    return Math.max(0, Math.floor(first / this.#align) * this.#align);
  }

  async #emit(outEnd: number): Promise<Int16Array> {
    if (outEnd <= this.#emitted) return EMPTY;
    const channels = this.#channels;
    const blockStart = Math.max(this.#bufferStart, this.#blockStart(this.#emitted));
    const block = this.#buffer.subarray((blockStart - this.#bufferStart) * channels);
    const converted = await this.#resampler.resample(block, channels, this.#from, this.#to);
    // Exact: blockStart is a multiple of #align, so its output position is a whole frame.
    const offset = (blockStart / this.#align) * (this.#to / gcd(this.#from, this.#to));
    const from = this.#emitted - offset;
    const to = Math.min(outEnd - offset, Math.floor(converted.length / channels));
    if (to <= from) return EMPTY;
    const out = converted.slice(from * channels, to * channels);
    this.#emitted += to - from;
    const keepFrom = this.#blockStart(this.#emitted);
    if (keepFrom > this.#bufferStart) {
      this.#buffer = this.#buffer.slice((keepFrom - this.#bufferStart) * channels);
      this.#bufferStart = keepFrom;
    }
    return out;
  }
}
