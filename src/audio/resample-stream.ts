import type { Resampler } from './resampler.js';
import type { SpeexConverter } from './speex.js';

/**
 * Resampling audio that arrives in parts as one continuous signal. Converting each part on its
 * own would treat its edges as silence and leave a seam (a click, a phase jump) at every part
 * boundary. The stream keeps one stateful converter (speex holds the filter's memory and phase
 * between calls), so the result equals the one-call conversion of the whole signal, part by
 * part, at a latency of half the filter (a few input frames).
 */

const EMPTY = new Int16Array(0);

export class ResampleStream {
  readonly #resampler: Resampler;
  readonly #channels: number;
  readonly #from: number;
  readonly #to: number;
  /** Made on the first push; kept (reset) across `flush()` until `close()`. */
  #converter: Promise<SpeexConverter> | undefined;

  constructor(resampler: Resampler, channels: number, fromRate: number, toRate: number) {
    this.#resampler = resampler;
    this.#channels = channels;
    this.#from = fromRate;
    this.#to = toRate;
  }

  /** Output for everything pushed so far except the last few frames (held as lookahead). */
  async push(samples: Int16Array): Promise<Int16Array> {
    if (this.#from === this.#to) return samples;
    const frames = Math.floor(samples.length / this.#channels);
    if (frames === 0) return EMPTY;
    const converter = await this.#open();
    return converter.push(samples.subarray(0, frames * this.#channels));
  }

  /** The rest of the output: the signal has ended. The stream may be used again afterwards. */
  async flush(): Promise<Int16Array> {
    if (this.#from === this.#to || this.#converter === undefined) return EMPTY;
    return (await this.#converter).end();
  }

  /** Frees the converter (an abandoned utterance); idempotent. A later push makes a new one. */
  close(): void {
    const converter = this.#converter;
    this.#converter = undefined;
    converter?.then(
      (c) => c.destroy(),
      () => undefined,
    );
  }

  #open(): Promise<SpeexConverter> {
    if (this.#converter === undefined) {
      const opening = this.#resampler.openConverter(this.#channels, this.#from, this.#to);
      // A failed set-up is not remembered: the next push tries again.
      opening.catch(() => {
        if (this.#converter === opening) this.#converter = undefined;
      });
      this.#converter = opening;
    }
    return this.#converter;
  }
}
