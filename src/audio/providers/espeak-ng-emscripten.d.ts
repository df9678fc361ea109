// The package ships no types; this declares the part of its API that espeak.ts uses, as read
// from the package's Emscripten glue (espeak-ng.js, version 0.3.5).
declare module '@echogarden/espeak-ng-emscripten' {
  export interface EspeakEvent {
    readonly type: 'list_terminated' | 'word' | 'sentence' | 'mark' | 'play' | 'end' | 'msg_terminated' | 'phoneme' | 'samplerate';
    readonly text_position: number;
    readonly word_length: number;
    readonly audio_position: number;
    readonly id?: string | number;
  }

  export interface EspeakVoiceInfo {
    /** e.g. `English (America)`. */
    readonly name: string;
    /** e.g. `gmw/en-US`; its last part works with `set_voice`. */
    readonly identifier: string;
    /** Languages the voice speaks; a lower priority number is a better match. */
    readonly languages: ReadonlyArray<{ readonly priority: number; readonly name: string }>;
  }

  export interface ESpeakNGWorker {
    /** 0 on success, an eSpeak error code otherwise. */
    set_voice(name: string): number;
    list_voices(): EspeakVoiceInfo[];
    get_samplerate(): number;
    set_rate(wordsPerMinute: number): void;
    get_rate(): number;
    set_pitch(pitch: number): void;
    get_pitch(): number;
    /**
     * Synchronous. The callback gets each block of int16 samples (a copy out of the WASM heap)
     * with its events; returning true stops the synthesis.
     */
    synthesize(text: string, callback: (samples: Int16Array, events: EspeakEvent[]) => boolean): void;
  }

  export interface EspeakModule {
    eSpeakNGWorker: new () => ESpeakNGWorker;
  }

  const init: (options?: Record<string, unknown>) => Promise<EspeakModule>;
  export default init;
}
