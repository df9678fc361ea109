import { SpeexConverter } from './speex.js';

/**
 * Band-limited sample-rate conversion (the SpeexDSP resampler, WebAssembly) of int16 PCM, plus
 * the channel layout change to the configured output. Engines speak at their own rate (eSpeak:
 * 22050 Hz mono, OpenAI speech: 24000 Hz); deployed clients play only the configured rate and
 * channels.
 */

/** `audio_generation.resampler_quality`: a named level, or speex's own 0 (fastest) … 10 (best). */
export type ResamplerQuality = 'best' | 'medium' | 'fastest' | number;

/**
 * Speex levels behind the names. 3 is speex's own VoIP level: about 80 dB stop-band, already
 * at int16's noise floor for a tone (~87 dB SNR measured) at ~3 ms per second of 22050 → 48000
 * audio. 5 (speex's desktop default) and 10 raise the stop-band to ~100 dB with longer filters.
 */
const SPEEX_QUALITY = {
  fastest: 3,
  medium: 5,
  best: 10,
} as const satisfies Record<Exclude<ResamplerQuality, number>, number>;

/** The speex level (0–10) of a configured quality. */
export function speexQuality(quality: ResamplerQuality): number {
  const level = typeof quality === 'number' ? quality : SPEEX_QUALITY[quality];
  if (!Number.isInteger(level) || level < 0 || level > 10) throw new RangeError(`resampler quality must be 0..10, got ${quality}`);
  return level;
}

export interface ResamplerOptions {
  readonly quality: ResamplerQuality;
}

/**
 * Converts interleaved int16 PCM between rates. Whole utterance parts go through one converter
 * per (rates, channels), made on first use and reset before each call: a call is synchronous
 * once the converter exists, so concurrent utterances cannot mix. A signal that arrives in parts
 * gets a converter of its own (`openConverter`, used by ResampleStream).
 */
export class Resampler {
  readonly #quality: number;
  readonly #converters = new Map<string, Promise<SpeexConverter>>();

  constructor(options: ResamplerOptions) {
    this.#quality = speexQuality(options.quality);
  }

  /**
   * `samples` (interleaved, `channels` per frame) from `fromRate` to `toRate`, clamped to int16:
   * ceil(frames · toRate / fromRate) frames. Equal rates return the input itself.
   */
  async resample(samples: Int16Array, channels: number, fromRate: number, toRate: number): Promise<Int16Array> {
    if (fromRate === toRate || samples.length === 0) return samples;
    const whole = samples.subarray(0, Math.floor(samples.length / channels) * channels);
    const converter = await this.#converter(channels, fromRate, toRate);
    // Nothing awaits from here on: no other call can use this converter in between.
    converter.reset();
    const head = converter.push(whole);
    const tail = converter.end();
    if (tail.length === 0) return head;
    const out = new Int16Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  }

  /**
   * A converter with its own filter state, for one signal that arrives in parts. The caller
   * owns it and calls `destroy()` when done (a forgotten one is freed when collected).
   */
  openConverter(channels: number, fromRate: number, toRate: number): Promise<SpeexConverter> {
    return SpeexConverter.create(channels, fromRate, toRate, this.#quality);
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

  #converter(channels: number, fromRate: number, toRate: number): Promise<SpeexConverter> {
    const key = `${channels}:${fromRate}:${toRate}`;
    let converter = this.#converters.get(key);
    if (converter === undefined) {
      converter = SpeexConverter.create(channels, fromRate, toRate, this.#quality);
      converter.catch(() => this.#converters.delete(key));
      this.#converters.set(key, converter);
    }
    return converter;
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
