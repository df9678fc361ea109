/**
 * The speech-synthesis contract. A provider yields PCM at its own native rate; the audio stage
 * (src/audio/speech-output.ts) resamples to the configured output and cuts chunks.
 */
export interface Pcm {
  /** Interleaved little-endian-in-memory int16 samples. */
  readonly samples: Int16Array;
  readonly sampleRate: number;
  readonly channels: number;
  /** The engine that made this audio, when it is not the provider itself (a chain's member). */
  readonly engine?: string;
  /**
   * Made by a fallback engine because the preferred one failed: such audio is not cached, so
   * the preferred voice is heard again once its engine recovers.
   */
  readonly fallback?: boolean;
}

export interface VoiceRequest {
  /** An engine voice id (e.g. `en-us`, `ru`); when absent the language or the text decides. */
  readonly voice?: string;
  /** A language code (e.g. `en`, `ru`). */
  readonly language?: string;
}

export interface TtsProvider {
  /** Stable name for logs, metrics and cache keys (`espeak`; a chain: `openai-speech>espeak`). */
  readonly name: string;
  /**
   * Loads the engine and checks its configuration; called once by the composition root right
   * after the ports open (requests may already call `synthesize`, which then loads the engine
   * itself). Network engines make no request here: start-up must not depend on the internet.
   */
  warm(): Promise<void>;
  /** The engine voice that `synthesize` would use for this text and request. */
  resolveVoice(text: string, request: VoiceRequest): string;
  synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm>;
  /** Frees what `warm()` started (worker threads); the composition root calls it at shutdown. */
  close?(): Promise<void>;
}
