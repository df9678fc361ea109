import type { ESpeakNGWorker, EspeakVoiceInfo } from '@echogarden/espeak-ng-emscripten';
import { AppError } from '../../errors.js';

/**
 * Debian's native eSpeak NG (`libespeak-ng1`, pulled in by the `espeak-ng` package) through
 * koffi's FFI: no compiler, no addon build. About four times the WASM build's speed, and its
 * first block arrives within a millisecond. The library keeps its state in globals and is not
 * re-entrant, so one synthesis runs at a time in the whole process: every call takes a lock
 * shared by all threads (`NativeLock`), and sets its voice, parameters and callback again under
 * it, since another thread may have changed them. It offers the same calls as the WASM engine
 * (`ESpeakNGWorker`), so `EspeakTts` runs on either.
 */

/** The shared library's file name (the Debian package's soname). */
export const NATIVE_LIBRARY = 'libespeak-ng.so.1';

/** espeak_AUDIO_OUTPUT: the callback gets each block, and espeak_Synth returns at the end. */
const AUDIO_OUTPUT_SYNCHRONOUS = 2;
/** Milliseconds of audio per callback block (the library's default is 200). */
const BUFFER_MS = 60;
/** espeak_POSITION_TYPE POS_CHARACTER; flags espeakCHARS_UTF8. */
const POS_CHARACTER = 1;
const CHARS_UTF8 = 1;
/** espeak_PARAMETER. */
const PARAM_RATE = 1;
const PARAM_PITCH = 3;

let processLock: SharedArrayBuffer | undefined;

/**
 * A process-wide mutex over an Int32Array on a SharedArrayBuffer (slot 0: the holder's thread
 * id + 1, or 0; slot 1: the library's sample rate once initialised, else 0). Every thread that may call the library
 * gets the same buffer (the pool hands it to its workers).
 */
export class NativeLock {
  readonly #slots: Int32Array;
  readonly #me: number;

  constructor(buffer: SharedArrayBuffer, threadId: number) {
    this.#slots = new Int32Array(buffer);
    this.#me = threadId + 1;
  }

  /** The lock of this thread's process as the main thread made it (workers get it passed in). */
  static processBuffer(): SharedArrayBuffer {
    processLock ??= new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    return processLock;
  }

  /** Releases the lock if `threadId` died holding it (the pool calls this on a worker's exit). */
  static releaseFor(buffer: SharedArrayBuffer, threadId: number): void {
    const slots = new Int32Array(buffer);
    if (Atomics.compareExchange(slots, 0, threadId + 1, 0) === threadId + 1) Atomics.notify(slots, 0, 1);
  }

  /** The library's rate once a thread initialised it, else 0. */
  get sampleRate(): number {
    return Atomics.load(this.#slots, 1);
  }

  markInitialised(sampleRate: number): void {
    Atomics.store(this.#slots, 1, sampleRate);
  }

  run<T>(body: () => T): T {
    for (;;) {
      const holder = Atomics.compareExchange(this.#slots, 0, 0, this.#me);
      if (holder === 0) break;
      Atomics.wait(this.#slots, 0, holder);
    }
    try {
      return body();
    } finally {
      Atomics.store(this.#slots, 0, 0);
      Atomics.notify(this.#slots, 0, 1);
    }
  }
}

type KoffiModule = (typeof import('koffi'))['default'];

interface Bindings {
  readonly koffi: KoffiModule;
  readonly initialize: (output: number, buflength: number, path: null, options: number) => number;
  readonly setSynthCallback: (callback: unknown) => void;
  readonly setVoiceByName: (name: string) => number;
  readonly setParameter: (parameter: number, value: number, relative: number) => number;
  readonly synth: (text: Buffer, size: number, position: number, positionType: number, end: number, flags: number, id: null, user: null) => number;
  readonly listVoices: (spec: null) => unknown;
  readonly callbackType: unknown;
  readonly voiceType: unknown;
}

function bind(koffi: KoffiModule): Bindings {
  const lib = koffi.load(NATIVE_LIBRARY);
  const callbackType = koffi.proto('int nexy_espeak_synth_cb(int16_t *wav, int numsamples, void *events)');
  const voiceType = koffi.struct('nexy_espeak_VOICE', {
    name: 'const char *',
    languages: 'void *',
    identifier: 'const char *',
    gender: 'uint8',
    age: 'uint8',
    variant: 'uint8',
    xx1: 'uint8',
    score: 'int',
    spare: 'void *',
  });
  return {
    koffi,
    callbackType,
    voiceType,
    initialize: lib.func('int espeak_Initialize(int output, int buflength, const char *path, int options)'),
    setSynthCallback: lib.func('void espeak_SetSynthCallback(nexy_espeak_synth_cb *callback)'),
    setVoiceByName: lib.func('int espeak_SetVoiceByName(const char *name)'),
    setParameter: lib.func('int espeak_SetParameter(int parameter, int value, int relative)'),
    synth: lib.func(
      'int espeak_Synth(const char *text, size_t size, unsigned int position, int position_type, unsigned int end_position, unsigned int flags, void *unique_identifier, void *user_data)',
    ),
    listVoices: lib.func('void *espeak_ListVoices(void *voice_spec)'),
  };
}

/** The voice list's `languages`: (priority byte, NUL-terminated name)… ended by a 0 byte. */
function languagesOf(koffi: KoffiModule, pointer: unknown): EspeakVoiceInfo['languages'] {
  const out: Array<{ priority: number; name: string }> = [];
  if (pointer === null) return out;
  let offset = 0;
  for (let guard = 0; guard < 64; guard++) {
    const priority = koffi.decode(pointer, offset, 'uint8') as number;
    if (priority === 0) break;
    const name = koffi.decode(pointer, offset + 1, 'char', -1) as string;
    out.push({ priority, name });
    offset += 1 + Buffer.byteLength(name) + 1;
  }
  return out;
}

/** The engine on the native library, or the reason it cannot be used here. */
export async function loadNativeEspeak(lock: NativeLock): Promise<ESpeakNGWorker> {
  try {
    // Once per thread: koffi refuses to declare the same type names twice.
    bound ??= bind((await import('koffi')).default);
  } catch (error) {
    throw new AppError('unavailable', `native eSpeak NG (${NATIVE_LIBRARY}) is not installed`, { cause: error });
  }
  return new NativeEspeak(bound, lock);
}

let bound: Bindings | undefined;

let pinned: unknown;

/**
 * Keeps the library loaded in this thread (the main thread, for as long as the process runs).
 * Each worker's koffi handle is dropped when the worker exits; were they all the handles, the
 * library would be unloaded with its state and loaded afresh uninitialised, while the lock
 * still says it was initialised. Does nothing where the library is absent.
 */
export async function pinNativeLibrary(): Promise<void> {
  if (pinned !== undefined) return;
  try {
    pinned = (await import('koffi')).default.load(NATIVE_LIBRARY);
  } catch {
    pinned = null;
  }
}

class NativeEspeak implements ESpeakNGWorker {
  readonly #b: Bindings;
  readonly #lock: NativeLock;
  readonly #sampleRate: number;
  #voice = 'en';
  #rate = 175;
  #pitch = 50;
  /** The block handler of the synthesis running now (the registered callback calls it). */
  #onBlock: ((samples: Int16Array) => boolean) | undefined;
  readonly #callback: unknown;
  /** What the block handler threw during the synthesis running now. */
  #failure: { error: unknown } | undefined;

  constructor(bindings: Bindings, lock: NativeLock) {
    this.#b = bindings;
    this.#lock = lock;
    this.#sampleRate = lock.run(() => {
      // Initialising twice would reset what another thread set up: once per process.
      if (lock.sampleRate > 0) return lock.sampleRate;
      const rate = bindings.initialize(AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, null, 0);
      if (rate <= 0) throw new AppError('unavailable', 'native eSpeak NG failed to initialise');
      lock.markInitialised(rate);
      return rate;
    });
    this.#callback = bindings.koffi.register((wav: unknown, count: number) => {
      if (count <= 0 || wav === null) return 0;
      // A copy: the library reuses its buffer for the next block.
      const samples = new Int16Array(bindings.koffi.view(wav, count * 2).slice(0));
      try {
        return this.#onBlock?.(samples) === true ? 1 : 0;
      } catch (error) {
        // Never thrown through the C library's frames: kept, the synthesis stopped, rethrown after.
        this.#failure ??= { error };
        return 1;
      }
    }, bindings.koffi.pointer(bindings.callbackType as never));
  }

  get_samplerate(): number {
    return this.#sampleRate;
  }

  list_voices(): EspeakVoiceInfo[] {
    const { koffi } = this.#b;
    return this.#lock.run(() => {
      const list = this.#b.listVoices(null);
      const voices: EspeakVoiceInfo[] = [];
      for (let i = 0; list !== null; i++) {
        const entry = koffi.decode(list, i * koffi.sizeof('void *'), 'void *');
        if (entry === null) break;
        const voice = koffi.decode(entry, this.#b.voiceType as never) as { name: string; identifier: string; languages: unknown };
        voices.push({ name: voice.name, identifier: voice.identifier, languages: languagesOf(koffi, voice.languages) });
      }
      return voices;
    });
  }

  /** Checked now, used at each synthesis (another thread may change the library's voice). */
  set_voice(name: string): number {
    const code = this.#lock.run(() => this.#b.setVoiceByName(name));
    if (code === 0) this.#voice = name;
    return code;
  }

  set_rate(wordsPerMinute: number): void {
    this.#rate = wordsPerMinute;
  }

  get_rate(): number {
    return this.#rate;
  }

  set_pitch(pitch: number): void {
    this.#pitch = pitch;
  }

  get_pitch(): number {
    return this.#pitch;
  }

  synthesize(text: string, callback: (samples: Int16Array, events: never[]) => boolean): void {
    const bytes = Buffer.from(`${text}\0`, 'utf8');
    this.#lock.run(() => {
      const b = this.#b;
      b.setSynthCallback(this.#callback);
      if (b.setVoiceByName(this.#voice) !== 0) throw new AppError('bad_input', `unknown voice "${this.#voice}"`);
      b.setParameter(PARAM_RATE, this.#rate, 0);
      b.setParameter(PARAM_PITCH, this.#pitch, 0);
      this.#onBlock = (samples) => callback(samples, []);
      this.#failure = undefined;
      try {
        const code = b.synth(bytes, bytes.length, 0, POS_CHARACTER, 0, CHARS_UTF8, null, null);
        // Set by the callback during the call (the compiler cannot know).
        const failure = this.#failure as { error: unknown } | undefined;
        if (failure !== undefined) throw failure.error;
        // EE_OK 0; an abort from the callback is not an error.
        if (code !== 0) throw new AppError('internal', `native eSpeak NG synthesis failed (${code})`);
      } finally {
        this.#onBlock = undefined;
        this.#failure = undefined;
      }
    });
  }
}
