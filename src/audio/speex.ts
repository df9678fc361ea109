import type { SpeexResamplerModule } from '@echogarden/speex-resampler-wasm';
import { AppError } from '../errors.js';
import { concatSamples } from './silence.js';

/**
 * The SpeexDSP resampler (WebAssembly, int16 in and out) as a stateful converter of one
 * continuous signal. Speex keeps the filter's memory and phase between calls, so converting a
 * signal part by part gives the same samples as converting it in one call: no seams, no
 * re-processed context. Every call into the module is synchronous, so converters of concurrent
 * utterances share one module and one scratch area without interleaving.
 */

/** Input frames per call into the module: bounds the scratch memory for any input length. */
const BLOCK_FRAMES = 8192;

/** Output room beyond the exact ratio: speex may carry a frame or two of phase between calls. */
const OUTPUT_MARGIN_FRAMES = 4;

/** Tail feeds tried at `end()` before giving up (one is always enough; the loop is a guard). */
const MAX_TAIL_FEEDS = 4;

const EMPTY = new Int16Array(0);

/** Pointers into the module's heap that every converter borrows during a call. */
interface Scratch {
  input: number;
  inputSamples: number;
  output: number;
  outputSamples: number;
  /** Two uint32: input frames (in: offered, out: consumed), output frames (in: room, out: made). */
  readonly counts: number;
}

interface Heap {
  readonly module: SpeexResamplerModule;
  readonly scratch: Scratch;
}

let loading: Promise<Heap> | undefined;
/** The module once loaded: converters can then be made synchronously (`createLoaded`). */
let loaded: Heap | undefined;

async function instantiate(): Promise<SpeexResamplerModule> {
  try {
    const { default: init } = await import('@echogarden/speex-resampler-wasm/simd');
    return await init();
  } catch {
    // A runtime without WebAssembly SIMD: the portable build, about a third slower.
    const { default: init } = await import('@echogarden/speex-resampler-wasm');
    return init();
  }
}

/** The one module of the process, loaded on first use. */
function loadHeap(): Promise<Heap> {
  loading ??= instantiate().then(
    (module) => (loaded = { module, scratch: { input: 0, inputSamples: 0, output: 0, outputSamples: 0, counts: module._malloc(8) } }),
    (error: unknown) => {
      loading = undefined;
      throw new AppError('internal', 'the resampler could not be loaded', { cause: error });
    },
  );
  return loading;
}

/** Loads the resampler's module now (the first converter would otherwise wait for it). */
export async function loadSpeex(): Promise<void> {
  await loadHeap();
}

/** Grows the scratch buffers to at least these many int16 samples. */
function reserve(heap: Heap, inputSamples: number, outputSamples: number): Scratch {
  const { module, scratch } = heap;
  if (scratch.inputSamples < inputSamples) {
    if (scratch.input !== 0) module._free(scratch.input);
    scratch.input = module._malloc(inputSamples * 2);
    scratch.inputSamples = inputSamples;
  }
  if (scratch.outputSamples < outputSamples) {
    if (scratch.output !== 0) module._free(scratch.output);
    scratch.output = module._malloc(outputSamples * 2);
    scratch.outputSamples = outputSamples;
  }
  return scratch;
}

function concat(parts: readonly Int16Array[]): Int16Array {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0]!;
  return concatSamples(parts);
}

/** States that were never destroyed (an utterance abandoned mid-way) are freed once collected. */
const leaked = new FinalizationRegistry<{ module: SpeexResamplerModule; state: number }>(({ module, state }) =>
  module._speex_resampler_destroy(state),
);

/**
 * Converts one continuous signal of interleaved int16 frames from `fromRate` to `toRate`.
 * Output sample n lies at input time n · from / to (the filter's delay is compensated), and
 * `end()` produces exactly ceil(input frames · to / from) frames in total.
 */
export class SpeexConverter {
  readonly channels: number;
  readonly fromRate: number;
  readonly toRate: number;
  readonly #heap: Heap;
  #state: number;
  /** Input frames the filter lags behind; `end()` feeds this much silence to drain it. */
  readonly #latency: number;
  #inputFrames = 0;
  #outputFrames = 0;

  private constructor(heap: Heap, state: number, channels: number, fromRate: number, toRate: number) {
    this.#heap = heap;
    this.#state = state;
    this.channels = channels;
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.#latency = heap.module._speex_resampler_get_input_latency(state);
    heap.module._speex_resampler_skip_zeros(state);
    leaked.register(this, { module: heap.module, state }, this);
  }

  /** A converter with its own filter state. `quality` is speex's 0 (fastest) … 10 (best). */
  static async create(channels: number, fromRate: number, toRate: number, quality: number): Promise<SpeexConverter> {
    await loadHeap();
    return SpeexConverter.createLoaded(channels, fromRate, toRate, quality);
  }

  /**
   * `create` without an await, once `loadSpeex()` has resolved: code that renders inside an
   * engine's synchronous callback (the synthesis workers) cannot wait for a promise.
   */
  static createLoaded(channels: number, fromRate: number, toRate: number, quality: number): SpeexConverter {
    for (const [name, value] of [['channels', channels], ['fromRate', fromRate], ['toRate', toRate]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) throw new RangeError(`speex quality must be 0..10, got ${quality}`);
    const heap = loaded;
    if (heap === undefined) throw new AppError('internal', 'the resampler is not loaded yet (await loadSpeex() first)');
    const { module, scratch } = heap;
    const state = module._speex_resampler_init(channels, fromRate, toRate, quality, scratch.counts);
    if (state === 0) {
      const code = module.HEAPU32[scratch.counts >> 2];
      throw new AppError('internal', 'the resampler could not be set up', { cause: new Error(`speex_resampler_init error ${code}`) });
    }
    return new SpeexConverter(heap, state, channels, fromRate, toRate);
  }

  /** The output that the input so far determines; the last few frames wait for `end()`. */
  push(samples: Int16Array): Int16Array {
    const frames = Math.floor(samples.length / this.channels);
    if (frames === 0) return EMPTY;
    this.#inputFrames += frames;
    return this.#process(samples, frames);
  }

  /**
   * The rest of the output: the signal has ended (silence follows it). The converter is then
   * ready for a new signal.
   */
  end(): Int16Array {
    const total = Math.ceil((this.#inputFrames * this.toRate) / this.fromRate);
    const parts: Int16Array[] = [];
    for (let feed = 0; feed < MAX_TAIL_FEEDS && this.#outputFrames < total; feed++) {
      parts.push(this.#process(undefined, this.#latency + Math.ceil(this.fromRate / this.toRate) + 1));
    }
    const missing = total - this.#outputFrames;
    this.reset();
    const tail = concat(parts);
    // #outputFrames counted the tail too: cut it back to the signal's own length.
    const keep = Math.max(0, tail.length / this.channels + missing) * this.channels;
    return keep === tail.length ? tail : tail.subarray(0, keep);
  }

  /** Forgets the signal; the next `push` starts a new one. */
  reset(): void {
    const module = this.#live();
    module._speex_resampler_reset_mem(this.#state);
    module._speex_resampler_skip_zeros(this.#state);
    this.#inputFrames = 0;
    this.#outputFrames = 0;
  }

  /** Frees the filter state. Idempotent; any other call afterwards throws. */
  destroy(): void {
    if (this.#state === 0) return;
    leaked.unregister(this);
    this.#heap.module._speex_resampler_destroy(this.#state);
    this.#state = 0;
  }

  #live(): SpeexResamplerModule {
    if (this.#state === 0) throw new AppError('internal', 'resampler used after it was destroyed');
    return this.#heap.module;
  }

  /** Runs `frames` frames of `samples` (undefined: silence) through the filter in blocks. */
  #process(samples: Int16Array | undefined, frames: number): Int16Array {
    const module = this.#live();
    const channels = this.channels;
    const parts: Int16Array[] = [];
    let done = 0;
    while (done < frames) {
      const block = Math.min(BLOCK_FRAMES, frames - done);
      const room = Math.ceil((block * this.toRate) / this.fromRate) + OUTPUT_MARGIN_FRAMES;
      const scratch = reserve(this.#heap, samples === undefined ? 0 : block * channels, room * channels);
      // Read the heap views only now: a _malloc may have grown the heap and replaced them.
      if (samples !== undefined) module.HEAP16.set(samples.subarray(done * channels, (done + block) * channels), scratch.input >> 1);
      const counts = scratch.counts >> 2;
      module.HEAPU32[counts] = block;
      module.HEAPU32[counts + 1] = room;
      const input = samples === undefined ? 0 : scratch.input;
      const code = module._speex_resampler_process_interleaved_int(this.#state, input, scratch.counts, scratch.output, scratch.counts + 4);
      if (code !== 0) throw new AppError('internal', 'resampling failed', { cause: new Error(`speex_resampler_process error ${code}`) });
      const consumed = module.HEAPU32[counts]!;
      const made = module.HEAPU32[counts + 1]!;
      if (made > 0) parts.push(module.HEAP16.slice(scratch.output >> 1, (scratch.output >> 1) + made * channels));
      if (consumed === 0 && made === 0) throw new AppError('internal', 'resampling made no progress');
      done += consumed;
      this.#outputFrames += made;
    }
    return concat(parts);
  }
}
