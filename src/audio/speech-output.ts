import { AppError, onAbort, throwIfAborted, toAppError } from '../errors.js';
import { PcmChunker, type ChunkOptions, type PcmChunk } from './chunker.js';
import { LruCache } from './lru-cache.js';
import type { PlaybackClock } from './playback-clock.js';
import type { RenderOptions } from './utterance-renderer.js';
import type { Pcm, TtsProvider, VoiceRequest } from './provider.js';
import { ResampleStream } from './resample-stream.js';
import { convertChannels, Resampler, type ResamplerQuality } from './resampler.js';
import { fillDigitalSilence, fitFrames, joinSamples, lastLoudFrame, padFrames, trimSilence } from './silence.js';

/**
 * The one audio stage: text → provider PCM → silence at the utterance's ends set to one pause →
 * the configured rate (one continuous conversion per utterance) → the configured channels →
 * pauses kept audible → exact chunks with no all-zero piece. The turn pipeline streams it
 * (`speak`); the welcome RPC takes whole, cached utterances (`speakCached`).
 */

/** One piece of output audio: int16 little-endian PCM at the configured rate and channels. */
export interface AudioPiece {
  readonly data: Buffer;
  /** Samples per channel in `data`. */
  readonly frames: number;
  readonly sampleRate: number;
  readonly channels: number;
}

/**
 * A provider that does the whole audio stage itself (the synthesis pool's eSpeak, off the event
 * loop): its pieces already follow `SpeechOutputOptions`, and it notes them on `clock`. Like
 * `SpeechOutput.speak`, it yields nothing for blank text and throws the abort reason once
 * `signal` aborts.
 */
export interface RenderingTts {
  speakRendered(text: string, voice: string, signal: AbortSignal, clock?: PlaybackClock): AsyncIterable<AudioPiece>;
}

export function isRendering(provider: TtsProvider): provider is TtsProvider & RenderingTts {
  return typeof (provider as Partial<RenderingTts>).speakRendered === 'function';
}

/** Runs the audio stage on engine PCM elsewhere (a worker thread: `RenderPool`). */
export interface PcmConverter {
  convert(parts: AsyncIterable<Pcm>, signal: AbortSignal): AsyncIterable<AudioPiece>;
}

/** What `SpeechOutput` may be given besides its provider and options. */
export interface SpeechOutputDeps {
  /** Converts a provider's PCM off the event loop; absent: on this thread, in blocks. */
  readonly converter?: PcmConverter;
}

/** A whole utterance, for callers that must know its duration before sending it. */
export interface SpokenUtterance {
  /** Read-only: cached utterances share these buffers. */
  readonly pieces: readonly AudioPiece[];
  /** Seconds of audio in `pieces` (what the client will play). */
  readonly durationSec: number;
  readonly fromCache: boolean;
  /** The engine that spoke it (`espeak`; in a fallback chain, the member that did). */
  readonly engine: string;
  readonly voice: string;
}

/** Plain values from `audio_generation` (see `speechOutputOptionsFromConfig`). */
export interface SpeechOutputOptions {
  readonly sampleRate: number;
  readonly channels: number;
  readonly chunkBytes: number;
  readonly quality: ResamplerQuality;
  readonly cacheMaxEntries: number;
  readonly cacheMaxBytes: number;
  /** |int16 sample| at or below this is silence when trimming an utterance's ends. */
  readonly silenceThreshold: number;
  /** Silence at each end of an utterance (the engine's is cut or extended to it). */
  readonly silencePadMs: number;
  /**
   * Turn exact-zero samples into ±1 so pauses survive clients that drop all-zero chunks
   * (`audio_generation.silence.fill_digital_silence`).
   */
  readonly fillDigitalSilence: boolean;
  /**
   * Audio is resampled in blocks of this much (seamlessly), so the first chunk leaves early and
   * the event loop is never held for a whole sentence (`audio_generation.resample_block_ms`).
   */
  readonly resampleBlockMs: number;
  /** No chunk near-silent from end to end (`min_chunk_peak`, `max_chunk_bytes`); absent: only all-zero ones are dropped. */
  readonly chunking?: ChunkOptions;
}

/** Where one utterance's conversion stands while its parts arrive. */
interface RenderState {
  /** No audible audio yet: leading silence is still being trimmed. */
  atStart: boolean;
  /** Trailing silence of the audio so far: an inner pause, unless the utterance ends here. */
  carry: Pcm | undefined;
  stream: ResampleStream | undefined;
  /** Rate and channels of the parts `stream` converts. */
  rate: number;
  channels: number;
}

interface Rendered {
  readonly pieces: readonly AudioPiece[];
  readonly durationSec: number;
  /** The engine that spoke (a chain's member), else the provider's name. */
  readonly engine: string;
  /** False when a fallback engine spoke: the preferred voice should return once it recovers. */
  readonly cacheable: boolean;
}

/** What the provider's parts said about who made them (see `Pcm.engine`, `Pcm.fallback`). */
interface Source {
  engine: string | undefined;
  fallback: boolean;
}

interface Job {
  readonly promise: Promise<Rendered>;
  readonly controller: AbortController;
  waiters: number;
}

/** Rejects with the signal's reason as soon as it aborts; settles like `promise` otherwise. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const unlink = onAbort(signal, () => reject(toAppError(signal.reason, signal)));
    promise.then(resolve, reject).finally(unlink);
  });
}

export class SpeechOutput {
  readonly #provider: TtsProvider;
  readonly #options: SpeechOutputOptions;
  readonly #resampler: Resampler;
  readonly #cache: LruCache<Rendered>;
  /** Cache misses being synthesized, shared by every caller that asks for the same key. */
  readonly #jobs = new Map<string, Job>();

  readonly #converter: PcmConverter | undefined;

  constructor(provider: TtsProvider, options: SpeechOutputOptions, deps: SpeechOutputDeps = {}) {
    // Fails now, not on the first utterance, when chunk_bytes cannot hold one frame.
    new PcmChunker(options.channels, options.chunkBytes, options.chunking);
    this.#provider = provider;
    this.#converter = deps.converter;
    this.#options = options;
    this.#resampler = new Resampler({ quality: options.quality });
    this.#cache = new LruCache({ maxEntries: options.cacheMaxEntries, maxBytes: options.cacheMaxBytes });
  }

  /** The provider's name, for logs and the welcome metadata. */
  get engine(): string {
    return this.#provider.name;
  }

  /** True when the provider does the whole audio stage on worker threads (see `Speaker.offThread`). */
  get offThread(): boolean {
    return isRendering(this.#provider);
  }

  /**
   * The text's audio as it is made (no cache): pieces of exactly `chunkBytes` (the last may be
   * shorter), none all zeros. Blank text yields nothing. Throws the abort reason once `signal`
   * aborts; the provider stops between its pieces. `clock` is the stream's playback: the pieces
   * made are noted on it, and a pooled engine schedules the synthesis by it.
   */
  speak(text: string, voice: VoiceRequest, signal: AbortSignal, clock?: PlaybackClock): AsyncIterable<AudioPiece> {
    const provider = this.#provider;
    const resolved = provider.resolveVoice(text, voice);
    // The pool's pieces as they come, not through one more generator: each layer costs every
    // chunk a few promise jobs on the event loop (speakRendered checks the abort and blank text).
    if (isRendering(provider)) return provider.speakRendered(text, resolved, signal, clock);
    return this.#render(text, resolved, signal, undefined, clock);
  }

  /**
   * The whole utterance, from the cache when the same (engine, voice, rate, channels, text) was
   * spoken before. Concurrent callers of one text share one synthesis, which is aborted only
   * when every one of them has given up. Blank text is bad input.
   */
  async speakCached(text: string, voice: VoiceRequest, signal: AbortSignal): Promise<SpokenUtterance> {
    throwIfAborted(signal);
    if (text.trim() === '') throw new AppError('bad_input', 'text is empty');
    const resolved = this.#provider.resolveVoice(text, voice);
    const key = JSON.stringify([this.#provider.name, resolved, this.#options.sampleRate, this.#options.channels, text]);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return { pieces: cached.pieces, durationSec: cached.durationSec, engine: cached.engine, voice: resolved, fromCache: true };

    const job = this.#jobs.get(key) ?? this.#startJob(key, text, resolved);
    job.waiters++;
    let settled = false;
    try {
      const rendered = await untilAborted(job.promise, signal);
      settled = true;
      return { pieces: rendered.pieces, durationSec: rendered.durationSec, engine: rendered.engine, voice: resolved, fromCache: false };
    } finally {
      job.waiters--;
      if (!settled && job.waiters === 0) {
        job.controller.abort(signal.reason);
        // A caller arriving now must start afresh, not join a synthesis that is stopping.
        if (this.#jobs.get(key) === job) this.#jobs.delete(key);
      }
    }
  }

  /** Synthesizes the text into the cache (the default greeting at start-up). */
  async warmCache(text: string, voice: VoiceRequest = {}, signal: AbortSignal = new AbortController().signal): Promise<void> {
    await this.speakCached(text, voice, signal);
  }

  /** Frees the resampler's converters. */
  async close(): Promise<void> {
    await this.#resampler.close();
  }

  /** A provider that does the audio stage itself; else this thread converts the provider's PCM. */
  async *#render(text: string, voice: string, signal: AbortSignal, source?: Source, clock?: PlaybackClock): AsyncGenerator<AudioPiece> {
    const provider = this.#provider;
    if (isRendering(provider)) {
      throwIfAborted(signal);
      if (text.trim() === '') return;
      yield* provider.speakRendered(text, voice, signal, clock);
      return;
    }
    const pieces = this.#converter === undefined ? this.#convertHere(text, voice, signal, source) : this.#convertAway(this.#converter, text, voice, signal, source);
    for await (const piece of pieces) {
      clock?.produced(piece.frames / piece.sampleRate);
      yield piece;
    }
  }

  async *#convertAway(converter: PcmConverter, text: string, voice: string, signal: AbortSignal, source?: Source): AsyncGenerator<AudioPiece> {
    throwIfAborted(signal);
    if (text.trim() === '') return;
    yield* converter.convert(this.#noted(this.#provider.synthesize(text, voice, signal), source), signal);
  }

  /** The provider's parts, noting which engine made them. */
  async *#noted(parts: AsyncIterable<Pcm>, source?: Source): AsyncGenerator<Pcm> {
    for await (const pcm of parts) {
      if (source !== undefined) {
        source.engine ??= pcm.engine;
        if (pcm.fallback === true) source.fallback = true;
      }
      yield pcm;
    }
  }

  #startJob(key: string, text: string, voice: string): Job {
    const controller = new AbortController();
    const promise = this.#collect(text, voice, controller.signal).then((rendered) => {
      const bytes = rendered.pieces.reduce((sum, piece) => sum + piece.data.length, 0);
      if (rendered.cacheable) this.#cache.set(key, rendered, bytes);
      return rendered;
    });
    const job: Job = { promise, controller, waiters: 0 };
    this.#jobs.set(key, job);
    // Waiters see the outcome through their own await; this keeps an abandoned job's rejection
    // from being reported as unhandled.
    promise
      .catch(() => undefined)
      .finally(() => {
        if (this.#jobs.get(key) === job) this.#jobs.delete(key);
      });
    return job;
  }

  async #collect(text: string, voice: string, signal: AbortSignal): Promise<Rendered> {
    const pieces: AudioPiece[] = [];
    const source: Source = { engine: undefined, fallback: false };
    let frames = 0;
    for await (const piece of this.#render(text, voice, signal, source)) {
      pieces.push(piece);
      frames += piece.frames;
    }
    return {
      pieces: Object.freeze(pieces),
      durationSec: frames / this.#options.sampleRate,
      engine: source.engine ?? this.#provider.name,
      cacheable: !source.fallback,
    };
  }

  /**
   * Each provider part is sent as soon as it arrives, except its trailing silence, which waits
   * for the next part: if that part is audible the silence was a pause and goes out as it was;
   * if the utterance ends instead, it becomes the closing pause.
   */
  async *#convertHere(text: string, voice: string, signal: AbortSignal, source?: Source): AsyncGenerator<AudioPiece> {
    throwIfAborted(signal);
    if (text.trim() === '') return;
    const chunker = new PcmChunker(this.#options.channels, this.#options.chunkBytes, this.#options.chunking);
    const state: RenderState = { atStart: true, carry: undefined, stream: undefined, rate: 0, channels: 0 };
    try {
      for await (const pcm of this.#provider.synthesize(text, voice, signal)) {
        throwIfAborted(signal);
        if (source !== undefined) {
          source.engine ??= pcm.engine;
          if (pcm.fallback === true) source.fallback = true;
        }
        for await (const samples of this.#part(state, pcm)) yield* this.#pieces(chunker.push(samples), signal);
      }
      throwIfAborted(signal);
      for await (const samples of this.#end(state)) yield* this.#pieces(chunker.push(samples), signal);
      yield* this.#pieces(chunker.flush(), signal);
    } finally {
      // An aborted or failed utterance leaves its converter mid-signal: free it now.
      state.stream?.close();
    }
  }

  /** One provider part, up to its last audible frame, at the output rate and channels. */
  async *#part(state: RenderState, pcm: Pcm): AsyncGenerator<Int16Array> {
    let samples = pcm.samples;
    const carry = state.carry;
    state.carry = undefined;
    if (carry !== undefined) {
      if (carry.sampleRate === pcm.sampleRate && carry.channels === pcm.channels) samples = joinSamples(carry.samples, samples);
      else yield* this.#convert(state, carry);
    }
    const { channels, sampleRate } = pcm;
    const last = lastLoudFrame(samples, channels, this.#options.silenceThreshold);
    // Silence before anything audible is dropped: the leading pause is set when audio starts.
    if (!state.atStart || last >= 0) state.carry = { samples: samples.slice((last + 1) * channels), sampleRate, channels };
    if (last < 0) return;
    let head = samples.subarray(0, (last + 1) * channels);
    if (state.atStart) {
      const silence = { threshold: this.#options.silenceThreshold, padMs: this.#options.silencePadMs };
      head = trimSilence(head, channels, sampleRate, silence, { start: true, end: false });
      state.atStart = false;
    }
    yield* this.#convert(state, { samples: head, sampleRate, channels });
  }

  /** The closing pause (the carried silence cut or extended to the pad) and the converter's tail. */
  async *#end(state: RenderState): AsyncGenerator<Int16Array> {
    const carry = state.carry;
    state.carry = undefined;
    if (carry !== undefined && !state.atStart) {
      const frames = padFrames(this.#options.silencePadMs, carry.sampleRate);
      yield* this.#convert(state, { ...carry, samples: fitFrames(carry.samples, carry.channels, frames) });
    }
    if (state.stream !== undefined) yield* this.#output(await state.stream.flush(), state.channels);
    state.stream?.close();
    state.stream = undefined;
  }

  /** Audio through the utterance's one continuous resampler (a new one if the format changes). */
  async *#convert(state: RenderState, pcm: Pcm): AsyncGenerator<Int16Array> {
    if (pcm.samples.length === 0) return;
    if (state.stream !== undefined && (state.rate !== pcm.sampleRate || state.channels !== pcm.channels)) {
      yield* this.#output(await state.stream.flush(), state.channels);
      state.stream?.close();
      state.stream = undefined;
    }
    if (state.stream === undefined) {
      state.stream = new ResampleStream(this.#resampler, pcm.channels, pcm.sampleRate, this.#options.sampleRate);
      state.rate = pcm.sampleRate;
      state.channels = pcm.channels;
    }
    // Without a block size (an options object from before the key existed) the part goes whole.
    const blockMs = this.#options.resampleBlockMs;
    const blockFrames = blockMs > 0 ? Math.max(1, padFrames(blockMs, pcm.sampleRate)) : pcm.samples.length;
    const block = blockFrames * pcm.channels;
    for (let start = 0; start < pcm.samples.length; start += block) {
      yield* this.#output(await state.stream.push(pcm.samples.subarray(start, start + block)), pcm.channels);
    }
  }

  /** Resampled audio in the output channels, pauses filled; nothing when empty. */
  *#output(samples: Int16Array, channels: number): Generator<Int16Array> {
    if (samples.length === 0) return;
    const converted = convertChannels(samples, channels, this.#options.channels);
    yield this.#options.fillDigitalSilence ? fillDigitalSilence(converted, this.#options.channels) : converted;
  }

  /** Output pieces; an abort stops them between two pieces, not only between provider parts. */
  *#pieces(chunks: readonly PcmChunk[], signal: AbortSignal): Generator<AudioPiece> {
    const { sampleRate, channels } = this.#options;
    for (const chunk of chunks) {
      throwIfAborted(signal);
      yield { data: chunk.data, frames: chunk.frames, sampleRate, channels };
    }
  }
}

/** The audio stage's output format and silence rules (for the synthesis workers) from the config. */
export function renderOptionsFromConfig(audio: Parameters<typeof speechOutputOptionsFromConfig>[0]): RenderOptions {
  const { sampleRate, channels, chunkBytes, quality, silenceThreshold, silencePadMs, fillDigitalSilence, chunking } = speechOutputOptionsFromConfig(audio);
  return { sampleRate, channels, chunkBytes, quality, silenceThreshold, silencePadMs, fillDigitalSilence, chunking };
}

/** The options of `SpeechOutput` from the `audio_generation` section of the config. */
export function speechOutputOptionsFromConfig(audio: {
  readonly sample_rate: number;
  readonly channels: number;
  readonly chunk_bytes: number;
  readonly min_chunk_peak: number;
  readonly max_chunk_bytes: number;
  readonly resampler_quality: ResamplerQuality;
  readonly resample_block_ms: number;
  readonly cache: { readonly max_entries: number; readonly max_bytes: number };
  readonly silence: { readonly threshold: number; readonly pad_ms: number; readonly fill_digital_silence: boolean };
}): SpeechOutputOptions {
  return {
    sampleRate: audio.sample_rate,
    channels: audio.channels,
    chunkBytes: audio.chunk_bytes,
    quality: audio.resampler_quality,
    cacheMaxEntries: audio.cache.max_entries,
    cacheMaxBytes: audio.cache.max_bytes,
    silenceThreshold: audio.silence.threshold,
    silencePadMs: audio.silence.pad_ms,
    fillDigitalSilence: audio.silence.fill_digital_silence,
    resampleBlockMs: audio.resample_block_ms,
    chunking: { minPeak: audio.min_chunk_peak, maxChunkBytes: audio.max_chunk_bytes },
  };
}
