// The package ships no types; this declares the part of its Emscripten module that speex.ts
// uses, as read from the package's glue (wasm/speex-resampler-simd.js, version 0.3.0) and the
// SpeexDSP resampler header (speex_resampler.h). Lengths are in frames per channel; every
// pointer is a byte offset into the module's heap.
declare module '@echogarden/speex-resampler-wasm' {
  export interface SpeexResamplerModule {
    /** Views of the heap; replaced when the heap grows, so read them after every `_malloc`. */
    readonly HEAP16: Int16Array;
    readonly HEAPU32: Uint32Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    /** A state pointer, 0 on failure (the error code is written at `errorPointer`). */
    _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errorPointer: number): number;
    _speex_resampler_destroy(state: number): void;
    /** 0 on success. `in` 0 means zeros; `inLength`/`outLength` point at uint32 in-out counts. */
    _speex_resampler_process_interleaved_int(state: number, input: number, inLength: number, output: number, outLength: number): number;
    /** Input frames the filter lags behind (half its length). */
    _speex_resampler_get_input_latency(state: number): number;
    /** Starts the output at input time 0 instead of after the filter's latency. */
    _speex_resampler_skip_zeros(state: number): number;
    /** Forgets the signal (filter memory and phase), keeping the filter. */
    _speex_resampler_reset_mem(state: number): number;
  }

  const init: (options?: Record<string, unknown>) => Promise<SpeexResamplerModule>;
  export default init;
}

declare module '@echogarden/speex-resampler-wasm/simd' {
  import init from '@echogarden/speex-resampler-wasm';
  export default init;
}
