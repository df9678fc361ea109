import type { Config } from '../config/schema.js';
import { createTts, type CreateTtsOptions } from './create-tts.js';
import type { TtsProvider } from './provider.js';
import { RenderPool } from './render-pool.js';
import { isRendering, renderOptionsFromConfig, SpeechOutput, speechOutputOptionsFromConfig } from './speech-output.js';

/** The server's speech side: the engine (chain) and the output stage turns and the welcome speak through. */
export interface Speech {
  readonly tts: TtsProvider;
  readonly speaker: SpeechOutput;
  /** Warms the engine up, then synthesizes `greeting` into the cache so that it leaves from there. */
  warm(greeting: string, signal: AbortSignal): Promise<void>;
  /** Stops the conversion workers, then the engine's; called after the turns using them ended. */
  close(): Promise<void>;
}

export interface CreateSpeechOptions extends CreateTtsOptions {
  /** Replaces the configured engine (tests). */
  readonly tts?: TtsProvider;
}

/**
 * The speech engine `audio_generation` names (see {@link createTts}) behind a {@link SpeechOutput}:
 * silence trimming, resampling, chunking and the audio cache. For the composition root.
 */
export function createSpeech(ag: Config['audio_generation'], options: CreateSpeechOptions = {}): Speech {
  const tts = options.tts ?? createTts(ag, options);
  let converter: RenderPool | undefined;
  try {
    // Engines that make their PCM on this thread (cloud engines, a chain) convert it in a worker.
    converter =
      ag.synthesis_workers.enabled && !isRendering(tts)
        ? new RenderPool({ threads: ag.synthesis_workers.conversion_threads, render: renderOptionsFromConfig(ag), logger: options.logger })
        : undefined;
  } catch (error) {
    void tts.close?.();
    throw error;
  }
  const speaker = new SpeechOutput(tts, speechOutputOptionsFromConfig(ag), { converter });
  return {
    tts,
    speaker,
    warm: async (greeting, signal) => {
      signal.throwIfAborted();
      const started = performance.now();
      await tts.warm();
      await speaker.warmCache(greeting, {}, signal);
      options.logger?.info({ warm_up_ms: Math.round(performance.now() - started) }, 'speech engine warm');
    },
    close: async () => {
      try {
        await converter?.close();
      } finally {
        // Synthesis worker threads stop last.
        await tts.close?.();
      }
    },
  };
}
