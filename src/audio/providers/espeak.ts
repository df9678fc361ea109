import type { ESpeakNGWorker } from '@echogarden/espeak-ng-emscripten';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { AppError, throwIfAborted } from '../../errors.js';
import type { Pcm, TtsProvider, VoiceRequest } from '../provider.js';
import { concatSamples } from '../silence.js';
import { splitForSynthesis } from '../text-segments.js';
import { normaliseTag, selectVoice, type VoiceLookup } from '../voice-select.js';
import { loadNativeEspeak, NativeLock } from './espeak-native.js';
import { lazyDataOptions } from './espeak-wasm-data.js';

/**
 * eSpeak NG compiled to WebAssembly: offline, in-process, about a hundred times faster than
 * real time once warm. One engine instance serves every utterance; synthesis is synchronous, so
 * utterances never interleave inside it and switching voices per call is safe.
 */

export interface EspeakOptions {
  /** `audio_generation.voices`: language → voice, `default` required. */
  readonly voices: Readonly<Record<string, string>>;
  /** `audio_generation.espeak.rate_wpm`. */
  readonly rateWpm: number;
  /** `audio_generation.espeak.pitch` (0–99). */
  readonly pitch: number;
  /**
   * `audio_generation.espeak.max_segment_chars`: longer texts are synthesized in pieces, so an
   * abort is honoured between them and the event loop is not held for long.
   */
  readonly maxSegmentChars: number;
  /**
   * Spoken (and discarded) once per configured voice by `warm()`: the first syntheses run
   * several times slower until the engine's code is optimised. Absent: no warm-up synthesis.
   */
  readonly warmupText?: string;
  /**
   * `audio_generation.espeak.engine`: `native` is Debian's libespeak-ng (refused when it is not
   * installed), `wasm` the embedded build, `auto` native when installed, else wasm. Absent: wasm
   * (the config's `auto` comes through `espeakOptionsFromConfig`). The native library's audio
   * varies by a few samples from one call to the next; the WASM build's is the same every time.
   */
  readonly engine?: EspeakEngineChoice;
  /**
   * The process-wide lock of the native library (the main thread's `NativeLock.processBuffer()`),
   * for a worker thread; absent: this thread's `processBuffer()` (right on the main thread).
   */
  readonly nativeLock?: SharedArrayBuffer;
}

export type EspeakEngineChoice = 'auto' | 'native' | 'wasm';

/** The voices an engine has, as plain data (a worker sends it to the main thread). */
export interface EspeakCatalogue {
  readonly sampleRate: number;
  /** `native` or `wasm`: the build that speaks. */
  readonly build: 'native' | 'wasm';
  readonly voices: ReadonlyArray<readonly [string, string]>;
  readonly languages: ReadonlyArray<readonly [string, string]>;
}

interface Engine {
  readonly worker: ESpeakNGWorker;
  readonly build: 'native' | 'wasm';
  readonly sampleRate: number;
  /** Lower-cased identifier, its last part, and name → the voice id used with set_voice. */
  readonly voices: ReadonlyMap<string, string>;
  /** Language → the voice that speaks it best. */
  readonly languages: ReadonlyMap<string, string>;
}

function catalogue(worker: ESpeakNGWorker): Pick<Engine, 'voices' | 'languages'> {
  const voices = new Map<string, string>();
  const languages = new Map<string, { voice: string; priority: number }>();
  for (const info of worker.list_voices()) {
    const id = (info.identifier.split('/').pop() ?? info.identifier).toLowerCase();
    for (const key of [info.identifier.toLowerCase(), id, info.name.toLowerCase()]) {
      if (!voices.has(key)) voices.set(key, id);
    }
    for (const { name, priority } of info.languages) {
      const best = languages.get(name);
      // eSpeak ranks voices for a language by priority (lower is better); a tie goes to the
      // voice named after the language itself.
      if (best === undefined || priority < best.priority || (priority === best.priority && id === name)) {
        languages.set(name, { voice: id, priority });
      }
    }
  }
  return { voices, languages: new Map([...languages].map(([name, best]) => [name, best.voice])) };
}

export class EspeakTts implements TtsProvider {
  readonly name = 'espeak';
  readonly #options: EspeakOptions;
  #loading: Promise<Engine> | undefined;
  #engine: Engine | undefined;
  #currentVoice: string | undefined;

  /** No work here: the engine loads in `warm()` (or on first use). */
  constructor(options: EspeakOptions) {
    if (options.voices.default === undefined) throw new AppError('internal', 'espeak: voices.default is required');
    this.#options = options;
  }

  /** Loads the engine, checks every configured voice exists, and warms it up. Idempotent. */
  async warm(): Promise<void> {
    await this.#load();
  }

  /** The engine's sample rate once loaded (0 before `warm()`). */
  get sampleRate(): number {
    return this.#engine?.sampleRate ?? 0;
  }

  /** The loaded engine's voices (after `warm()`). */
  async catalogue(): Promise<EspeakCatalogue> {
    const engine = await this.#load();
    return { sampleRate: engine.sampleRate, build: engine.build, voices: [...engine.voices], languages: [...engine.languages] };
  }

  /**
   * Synchronous and streamed (for a synthesis worker, after `warm()`): each block of engine
   * audio goes to `onBlock` as the engine makes it, so the first one leaves within milliseconds.
   * `onBlock` returning true stops the synthesis. Returns the engine's sample rate.
   */
  synthesizeBlocks(text: string, voice: string, onBlock: (samples: Int16Array) => boolean): number {
    const engine = this.#engine;
    if (engine === undefined) throw new AppError('internal', 'espeak: synthesizeBlocks before warm()');
    let stopped = false;
    for (const piece of splitForSynthesis(text, this.#options.maxSegmentChars)) {
      if (stopped) break;
      this.#speak(engine, piece, voice, (samples) => {
        stopped = onBlock(samples);
        return stopped;
      });
    }
    return engine.sampleRate;
  }

  /** Works before `warm()` too, with the configured voices only. */
  resolveVoice(text: string, request: VoiceRequest): string {
    return selectVoice(text, request, this.#lookup());
  }

  /**
   * One `Pcm` (22050 Hz mono for eSpeak) per piece of text (see `maxSegmentChars`); the event
   * loop gets a turn between pieces, and an aborted `signal` stops before the next one.
   */
  async *synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
    throwIfAborted(signal);
    const engine = await this.#load();
    const pieces = splitForSynthesis(text, this.#options.maxSegmentChars);
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await nextTurn();
      throwIfAborted(signal);
      const samples = this.#render(engine, pieces[i]!, voice);
      if (samples.length > 0) yield { samples, sampleRate: engine.sampleRate, channels: 1 };
    }
  }

  #lookup(): VoiceLookup {
    const configured = this.#options.voices;
    const engine = this.#engine;
    if (engine === undefined) {
      const known = new Set(Object.values(configured).map(normaliseTag));
      return { configured, voice: (id) => (known.has(id) ? id : undefined), voiceForLanguage: () => undefined };
    }
    return {
      configured,
      voice: (id) => engine.voices.get(id),
      voiceForLanguage: (language) => engine.languages.get(language),
    };
  }

  #load(): Promise<Engine> {
    this.#loading ??= this.#init().catch((error: unknown) => {
      this.#loading = undefined;
      throw error;
    });
    return this.#loading;
  }

  /** The native library when chosen and installed, else the WASM build. */
  async #open(): Promise<{ worker: ESpeakNGWorker; build: Engine['build'] }> {
    const choice = this.#options.engine ?? 'wasm';
    if (choice !== 'wasm') {
      try {
        const lock = new NativeLock(this.#options.nativeLock ?? NativeLock.processBuffer(), threadId);
        return { worker: await loadNativeEspeak(lock), build: 'native' };
      } catch (error) {
        if (choice === 'native') throw error;
      }
    }
    const { default: init } = await import('@echogarden/espeak-ng-emscripten');
    const module = await init(lazyDataOptions());
    return { worker: new module.eSpeakNGWorker(), build: 'wasm' };
  }

  async #init(): Promise<Engine> {
    let opened: { worker: ESpeakNGWorker; build: Engine['build'] };
    try {
      opened = await this.#open();
      opened.worker.set_rate(this.#options.rateWpm);
      opened.worker.set_pitch(this.#options.pitch);
    } catch (error) {
      throw new AppError('unavailable', 'the speech engine could not be loaded', { cause: error });
    }
    const { worker, build } = opened;
    const engine: Engine = { worker, build, sampleRate: worker.get_samplerate(), ...catalogue(worker) };
    const missing = Object.entries(this.#options.voices).filter(([, voice]) => !engine.voices.has(normaliseTag(voice)));
    if (missing.length > 0) {
      const list = missing.map(([language, voice]) => `${language}: ${voice}`).join(', ');
      throw new AppError('internal', `espeak has no voice for audio_generation.voices (${list})`);
    }
    this.#currentVoice = undefined;
    this.#engine = engine;
    const warmup = this.#options.warmupText;
    if (warmup !== undefined && warmup.trim() !== '') {
      for (const voice of new Set(Object.values(this.#options.voices).map((v) => engine.voices.get(normaliseTag(v))!))) {
        this.#render(engine, warmup, voice);
      }
    }
    return engine;
  }

  #render(engine: Engine, text: string, voice: string): Int16Array {
    const blocks: Int16Array[] = [];
    this.#speak(engine, text, voice, (samples) => {
      blocks.push(samples);
      return false;
    });
    // A copy, so nothing aliases the engine's heap.
    return concatSamples(blocks);
  }

  /** One synchronous engine call; each block goes to `onBlock` (true stops the engine). */
  #speak(engine: Engine, text: string, voice: string, onBlock: (samples: Int16Array) => boolean): void {
    if (this.#currentVoice !== voice) {
      this.#currentVoice = undefined;
      const id = engine.voices.get(normaliseTag(voice));
      if (id === undefined || engine.worker.set_voice(id) !== 0) throw new AppError('bad_input', `unknown voice "${voice}"`);
      this.#currentVoice = voice;
    }
    try {
      // 0.3.5's glue already copies out of the WASM heap; copying again costs little and keeps
      // this correct should a later version hand over a view of a reused buffer.
      engine.worker.synthesize(text, (samples) => onBlock(samples.slice()));
    } catch (error) {
      if (error instanceof AppError) throw error;
      // An Emscripten abort leaves the module unusable: the next call loads a fresh one.
      this.#engine = undefined;
      this.#loading = undefined;
      throw new AppError('internal', 'speech synthesis failed', { cause: error });
    }
  }
}

/** The options of `EspeakTts` from the `audio_generation` section of the config. */
export function espeakOptionsFromConfig(audio: {
  readonly voices: Readonly<Record<string, string>>;
  readonly espeak: { readonly rate_wpm: number; readonly pitch: number; readonly max_segment_chars: number; readonly engine?: EspeakEngineChoice };
  readonly welcome: { readonly default_text: string };
}): EspeakOptions {
  return {
    voices: audio.voices,
    rateWpm: audio.espeak.rate_wpm,
    pitch: audio.espeak.pitch,
    maxSegmentChars: audio.espeak.max_segment_chars,
    warmupText: audio.welcome.default_text,
    engine: audio.espeak.engine ?? 'auto',
  };
}
