import { PcmChunker, type ChunkOptions, type PcmChunk } from './chunker.js';
import type { Pcm } from './provider.js';
import { convertChannels, speexQuality, type ResamplerQuality } from './resampler.js';
import { fillDigitalSilence, fitFrames, joinSamples, lastLoudFrame, padFrames, pauseCut, trimSilence } from './silence.js';
import { SpeexConverter } from './speex.js';

/**
 * One utterance from engine PCM to output chunks, synchronously: the engine's leading silence
 * trimmed to the pad, inner pauses kept, the trailing silence cut or extended to the pad, one
 * continuous resampling to the output rate, the output channels, pauses kept audible, exact
 * chunks. It is the same conversion as `SpeechOutput`'s, without an await anywhere, so a
 * synthesis worker can run it inside the engine's callback and send the first chunk of a
 * sentence while the engine is still speaking the rest (`loadSpeex()` must have resolved).
 *
 * An utterance may be rendered in slices by several renderers, one after another (the speech
 * pool's jobs go back into its queue between slices): `pause()` ends a slice inside a pause of
 * the speech, and a renderer made `continuing` takes up the rest without trimming its start.
 * The resampler restarts at the cut, in silence, so the seam is inaudible.
 */

/** The output format and the silence rules (`audio_generation`; see `SpeechOutputOptions`). */
export interface RenderOptions {
  readonly sampleRate: number;
  readonly channels: number;
  readonly chunkBytes: number;
  readonly quality: ResamplerQuality;
  readonly silenceThreshold: number;
  readonly silencePadMs: number;
  readonly fillDigitalSilence: boolean;
  /** No near-silent chunk (`audio_generation.min_chunk_peak` / `max_chunk_bytes`); absent: plain chunks. */
  readonly chunking?: ChunkOptions;
}

export class UtteranceRenderer {
  readonly #options: RenderOptions;
  readonly #quality: number;
  readonly #chunker: PcmChunker;
  /** No audible audio yet: leading silence is still being trimmed. */
  #atStart = true;
  /** Trailing silence of the audio so far: an inner pause, unless the utterance ends here. */
  #carry: Pcm | undefined;
  #converter: SpeexConverter | undefined;
  /** Rate and channels of the audio `#converter` converts (or passes through at equal rates). */
  #rate = 0;
  #channels = 0;

  /** `continuing`: the utterance began in another renderer (see `pause`); its start is not trimmed. */
  constructor(options: RenderOptions, continuing = false) {
    this.#options = options;
    this.#atStart = !continuing;
    this.#quality = speexQuality(options.quality);
    this.#chunker = new PcmChunker(options.channels, options.chunkBytes, options.chunking);
  }

  /** One engine part: the chunks it completes (its trailing silence waits for what follows). */
  push(pcm: Pcm): PcmChunk[] {
    const out: PcmChunk[] = [];
    let samples = pcm.samples;
    const carry = this.#carry;
    this.#carry = undefined;
    if (carry !== undefined) {
      if (carry.sampleRate === pcm.sampleRate && carry.channels === pcm.channels) samples = joinSamples(carry.samples, samples);
      else this.#convert(carry, out);
    }
    const { channels, sampleRate } = pcm;
    const last = lastLoudFrame(samples, channels, this.#options.silenceThreshold);
    // Silence before anything audible is dropped: the leading pause is set when audio starts.
    if (!this.#atStart || last >= 0) this.#carry = { samples: samples.slice((last + 1) * channels), sampleRate, channels };
    if (last < 0) return out;
    let head = samples.subarray(0, (last + 1) * channels);
    if (this.#atStart) {
      const silence = { threshold: this.#options.silenceThreshold, padMs: this.#options.silencePadMs };
      head = trimSilence(head, channels, sampleRate, silence, { start: true, end: false });
      this.#atStart = false;
    }
    this.#convert({ samples: head, sampleRate, channels }, out);
    return out;
  }

  /** The utterance ended: the closing pause, the converter's tail and the last (short) chunk. */
  end(): PcmChunk[] {
    const out: PcmChunk[] = [];
    const carry = this.#carry;
    this.#carry = undefined;
    if (carry !== undefined && !this.#atStart) {
      const frames = padFrames(this.#options.silencePadMs, carry.sampleRate);
      this.#convert({ ...carry, samples: fitFrames(carry.samples, carry.channels, frames) }, out);
    }
    this.#drain(out);
    out.push(...this.#chunker.flush());
    return out;
  }

  /** Something audible was rendered: a slice after a `pause` is `continuing`. */
  get started(): boolean {
    return !this.#atStart;
  }

  /**
   * Where to end this slice in `samples` (the engine's PCM that follows what was pushed so far):
   * inside a pause of at least `minMs` with sound after it, at a frame where a resampler started
   * afresh produces its samples at the same instants as this one would; -1 when there is none
   * (or nothing audible came yet).
   */
  pauseCut(pcm: Pcm, minMs: number): number {
    if (this.#atStart) return -1;
    const { samples, sampleRate, channels } = pcm;
    const input = (this.#converter?.inputFrames ?? 0) + (this.#carry === undefined ? 0 : this.#carry.samples.length / this.#carry.channels);
    const align = this.#converter === undefined ? 1 : sampleRate / gcd(sampleRate, this.#options.sampleRate);
    return pauseCut(samples, channels, this.#options.silenceThreshold, padFrames(minMs, sampleRate), align, input % align);
  }

  /**
   * The utterance goes on in another renderer: the pause in progress as it is (an inner pause),
   * the converter's tail and the last (short) chunk. Meant for a cut inside silence.
   */
  pause(): PcmChunk[] {
    const out: PcmChunk[] = [];
    const carry = this.#carry;
    this.#carry = undefined;
    if (carry !== undefined && !this.#atStart) this.#convert(carry, out);
    this.#drain(out);
    out.push(...this.#chunker.flush());
    return out;
  }

  /** Frees the converter (an abandoned utterance too); idempotent. */
  close(): void {
    this.#converter?.destroy();
    this.#converter = undefined;
  }

  #convert(pcm: Pcm, out: PcmChunk[]): void {
    if (pcm.samples.length === 0) return;
    if (this.#rate !== pcm.sampleRate || this.#channels !== pcm.channels) {
      this.#drain(out);
      this.#rate = pcm.sampleRate;
      this.#channels = pcm.channels;
      if (pcm.sampleRate !== this.#options.sampleRate) {
        this.#converter = SpeexConverter.createLoaded(pcm.channels, pcm.sampleRate, this.#options.sampleRate, this.#quality);
      }
    }
    this.#output(this.#converter === undefined ? pcm.samples : this.#converter.push(pcm.samples), out);
  }

  /** The converter's tail (the format changes or the utterance ends). */
  #drain(out: PcmChunk[]): void {
    if (this.#converter !== undefined) this.#output(this.#converter.end(), out);
    this.close();
    this.#rate = 0;
    this.#channels = 0;
  }

  #output(samples: Int16Array, out: PcmChunk[]): void {
    if (samples.length === 0) return;
    const converted = convertChannels(samples, this.#channels, this.#options.channels);
    const filled = this.#options.fillDigitalSilence ? fillDigitalSilence(converted, this.#options.channels) : converted;
    out.push(...this.#chunker.push(filled));
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
