import libsamplerate from '@alexanderolsen/libsamplerate-js';

/**
 * Band-limited sample-rate conversion (libsamplerate's sinc converters) of int16 PCM, plus the
 * channel layout change to the configured output. Engines speak at their own rate (eSpeak:
 * 22050 Hz mono); deployed clients play only the configured rate and channels.
 */

const { create, ConverterType } = libsamplerate;

type Converter = Awaited<ReturnType<typeof create>>;

/** `audio_generation.resampler_quality`. */
export type ResamplerQuality = 'best' | 'medium' | 'fastest';

const converterTypes = {
  best: ConverterType.SRC_SINC_BEST_QUALITY,
  medium: ConverterType.SRC_SINC_MEDIUM_QUALITY,
  fastest: ConverterType.SRC_SINC_FASTEST,
} as const satisfies Record<ResamplerQuality, unknown>;

/**
 * Half the length of each sinc filter, in input frames when up-sampling: coefficient half
 * length / increment of libsamplerate's tables, the larger of its 0.1 and 0.2 releases (fastest
 * 2463 / 128, medium 22438 / 491, best 340239 / 2381), rounded up. Down-sampling stretches the
 * filter by the rate ratio.
 */
const SINC_HALF_FRAMES = {
  fastest: 20,
  medium: 46,
  best: 143,
} as const satisfies Record<ResamplerQuality, number>;

/** Frames of margin on top of the filter's reach, for the converter's own rounding. */
const CONTEXT_MARGIN_FRAMES = 2;

/**
 * The library's fixed transfer buffer, in floats (its `BUFFER_LEN`). Past it the library cuts the
 * input into blocks for its stateful `full` API, which must then run on a converter of its own.
 */
const LIBRARY_BUFFER_FLOATS = 1_008_000;

/**
 * Input appended (as silence) on that long path so the converter's delay line is flushed: the
 * stateful API holds back about half a filter length, far less than this even for `best`.
 */
const FLUSH_SECONDS = 0.1;

const INT16_SCALE = 32768;
const INT16_MAX = 32767;
const INT16_MIN = -32768;

function toFloat(samples: Int16Array, extraSamples = 0): Float32Array {
  const out = new Float32Array(samples.length + extraSamples);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i]! / INT16_SCALE;
  return out;
}

function toInt16(samples: Float32Array, length = samples.length): Int16Array {
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) {
    const value = Math.round(samples[i]! * INT16_SCALE);
    out[i] = value > INT16_MAX ? INT16_MAX : value < INT16_MIN ? INT16_MIN : value;
  }
  return out;
}

export interface ResamplerOptions {
  readonly quality: ResamplerQuality;
}

/**
 * Converts interleaved int16 PCM between rates. One converter per (rates, channels) is made on
 * first use and shared: its `simple` call is synchronous and keeps no state between calls, so
 * concurrent utterances cannot mix. Each call converts one utterance part as a whole.
 */
export class Resampler {
  readonly #quality: ResamplerQuality;
  readonly #converterType: (typeof converterTypes)[ResamplerQuality];
  readonly #converters = new Map<string, Promise<Converter>>();

  constructor(options: ResamplerOptions) {
    this.#quality = options.quality;
    this.#converterType = converterTypes[options.quality];
  }

  /** Input frames each side of an output frame that the filter reads (see ResampleStream). */
  contextFrames(fromRate: number, toRate: number): number {
    const stretch = Math.max(1, fromRate / toRate);
    return Math.ceil(SINC_HALF_FRAMES[this.#quality] * stretch) + CONTEXT_MARGIN_FRAMES;
  }

  /**
   * `samples` (interleaved, `channels` per frame) from `fromRate` to `toRate`, clamped to int16.
   * Equal rates return the input itself.
   */
  async resample(samples: Int16Array, channels: number, fromRate: number, toRate: number): Promise<Int16Array> {
    if (fromRate === toRate || samples.length === 0) return samples;
    const frames = Math.floor(samples.length / channels);
    const whole = samples.subarray(0, frames * channels);
    // The library's own test for "too long for one call", computed the same way.
    if (Math.max(whole.length, Math.ceil(whole.length * (toRate / fromRate))) <= LIBRARY_BUFFER_FLOATS) {
      const converter = await this.#converter(channels, fromRate, toRate);
      return toInt16(converter.simple(toFloat(whole)));
    }
    return this.#resampleLong(whole, channels, fromRate, toRate, Math.ceil((frames * toRate) / fromRate));
  }

  /** Makes the converter for these rates now, so the first utterance does not pay for it. */
  async prepare(channels: number, fromRate: number, toRate: number): Promise<void> {
    if (fromRate !== toRate) await this.#converter(channels, fromRate, toRate);
  }

  /** Frees the converters; a later call makes them again. */
  async close(): Promise<void> {
    const converters = [...this.#converters.values()];
    this.#converters.clear();
    for (const result of await Promise.allSettled(converters)) {
      if (result.status === 'fulfilled') result.value.destroy();
    }
  }

  #converter(channels: number, fromRate: number, toRate: number): Promise<Converter> {
    const key = `${channels}:${fromRate}:${toRate}`;
    let converter = this.#converters.get(key);
    if (converter === undefined) {
      converter = create(channels, fromRate, toRate, { converterType: this.#converterType });
      converter.catch(() => this.#converters.delete(key));
      this.#converters.set(key, converter);
    }
    return converter;
  }

  /** Audio longer than the library's buffer: a converter of its own, so no state leaks to others. */
  async #resampleLong(samples: Int16Array, channels: number, fromRate: number, toRate: number, outFrames: number): Promise<Int16Array> {
    const converter = await create(channels, fromRate, toRate, { converterType: this.#converterType });
    try {
      const flush = Math.ceil(fromRate * FLUSH_SECONDS) * channels;
      const out = converter.simple(toFloat(samples, flush));
      return toInt16(out, Math.min(out.length, outFrames * channels));
    } finally {
      converter.destroy();
    }
  }
}

/**
 * Interleaved int16 audio from `from` to `to` channels: mono is duplicated, a mix down to mono
 * is the average, anything else maps output channel c to input channel c mod `from`.
 */
export function convertChannels(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples;
  const frames = Math.floor(samples.length / from);
  const out = new Int16Array(frames * to);
  if (to === 1) {
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < from; c++) sum += samples[f * from + c]!;
      out[f] = Math.round(sum / from);
    }
    return out;
  }
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < to; c++) out[f * to + c] = samples[f * from + (c % from)]!;
  }
  return out;
}
