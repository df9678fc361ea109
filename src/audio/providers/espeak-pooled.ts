import { AppError, throwIfAborted } from '../../errors.js';
import type { PlaybackClock } from '../playback-clock.js';
import type { Pcm, TtsProvider, VoiceRequest } from '../provider.js';
import type { AudioPiece, RenderingTts } from '../speech-output.js';
import { SynthesisPool, type SynthesisPoolOptions } from '../synthesis-pool.js';
import { configuredVoiceLookup, normaliseTag, selectVoice, type VoiceLookup } from '../voice-select.js';
import type { EspeakCatalogue } from './espeak.js';

/**
 * eSpeak in the synthesis pool's worker threads (src/audio/synthesis-pool.ts): the engine, the
 * silence rules, resampling and chunking all run off the event loop, and the audio stage takes
 * the finished chunks as they come (`speakRendered`). In a fallback chain it yields the engine's
 * PCM like any provider (`synthesize`).
 */
export class PooledEspeakTts implements TtsProvider, RenderingTts {
  readonly name = 'espeak';
  readonly #options: SynthesisPoolOptions;
  #pool: SynthesisPool | undefined;
  #starting: Promise<void> | undefined;
  #catalogue: EspeakCatalogue | undefined;
  /** The catalogue as lookups (made once at `warm()`). */
  #voices: ReadonlyMap<string, string> | undefined;
  #languages: ReadonlyMap<string, string> | undefined;

  /** No work here: the workers start in `warm()` (or with the first synthesis). */
  constructor(options: SynthesisPoolOptions) {
    if (options.espeak.voices.default === undefined) throw new AppError('internal', 'espeak: voices.default is required');
    this.#options = options;
  }

  /** `native` or `wasm` once warm: which eSpeak build speaks. */
  get build(): EspeakCatalogue['build'] | undefined {
    return this.#catalogue?.build;
  }

  /** The pool (after `warm()`); tests use it to make a worker die. */
  get pool(): SynthesisPool | undefined {
    return this.#pool;
  }

  /** Starts every worker and waits until each has loaded and warmed its engine. Idempotent. */
  warm(): Promise<void> {
    this.#starting ??= (async () => {
      const pool = new SynthesisPool(this.#options);
      try {
        const catalogue = await pool.start();
        this.#catalogue = catalogue;
        this.#voices = new Map(catalogue.voices);
        this.#languages = new Map(catalogue.languages);
      } catch (error) {
        await pool.close();
        this.#starting = undefined;
        throw error instanceof AppError ? error : new AppError('unavailable', 'the speech engine could not be started', { cause: error });
      }
      this.#pool = pool;
    })();
    return this.#starting;
  }

  resolveVoice(text: string, request: VoiceRequest): string {
    return selectVoice(text, request, this.#lookup());
  }

  async *synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
    throwIfAborted(signal);
    if (text.trim() === '') return;
    const pool = await this.#started();
    yield* pool.synthesize(text, this.#voiceId(voice), signal);
  }

  async *speakRendered(text: string, voice: string, signal: AbortSignal, clock?: PlaybackClock): AsyncIterable<AudioPiece> {
    throwIfAborted(signal);
    if (text.trim() === '') return;
    const pool = await this.#started();
    yield* pool.speak(text, this.#voiceId(voice), signal, clock);
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#starting = undefined;
    await pool?.close();
  }

  /**
   * The running pool; the first synthesis starts it when nothing warmed it before
   * (`audio_generation.warm_up_at_start: false`), so that call waits for the workers to load.
   */
  async #started(): Promise<SynthesisPool> {
    if (this.#pool === undefined) await this.warm();
    if (this.#pool === undefined) throw new AppError('unavailable', 'the speech engine is not started');
    return this.#pool;
  }

  /** An unknown voice is bad input here, before a worker is asked. */
  #voiceId(voice: string): string {
    const id = this.#voices === undefined ? voice : this.#voices.get(normaliseTag(voice));
    if (id === undefined) throw new AppError('bad_input', `unknown voice "${voice}"`);
    return id;
  }

  #lookup(): VoiceLookup {
    const configured = this.#options.espeak.voices;
    const voices = this.#voices;
    const languages = this.#languages;
    if (voices === undefined || languages === undefined) return configuredVoiceLookup(configured);
    return { configured, voice: (id) => voices.get(id), voiceForLanguage: (language) => languages.get(language) };
  }
}
