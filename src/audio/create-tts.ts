import type { Logger } from 'pino';
import type { AppError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { TtsProvider } from './provider.js';
import { EdgeTts, edgeOptionsFromConfig } from './providers/edge.js';
import { EspeakTts, espeakOptionsFromConfig } from './providers/espeak.js';
import { PooledEspeakTts } from './providers/espeak-pooled.js';
import { renderOptionsFromConfig } from './speech-output.js';
import { FallbackTts } from './providers/fallback.js';
import { OpenAiSpeechTts, openAiSpeechOptionsFromConfig } from './providers/openai-speech.js';

/**
 * The speech engine from `audio_generation`, for the composition root: `provider`, then
 * `fallback` in order, then eSpeak when the list lacks it, so the server always speaks offline.
 * One engine is returned as itself; several as a `FallbackTts`.
 */

type AudioConfig = Config['audio_generation'];
export type TtsEngineName = AudioConfig['provider'];

/** The ordered, de-duplicated chain the config asks for, eSpeak last unless listed earlier. */
export function ttsChain(audio: Pick<AudioConfig, 'provider' | 'fallback'>): TtsEngineName[] {
  const chain = [...new Set<TtsEngineName>([audio.provider, ...audio.fallback])];
  if (!chain.includes('espeak')) chain.push('espeak');
  return chain;
}

function engine(name: TtsEngineName, audio: AudioConfig, options: CreateTtsOptions): TtsProvider {
  switch (name) {
    case 'espeak':
      if (!audio.synthesis_workers.enabled) return new EspeakTts(espeakOptionsFromConfig(audio));
      return new PooledEspeakTts({
        workers: audio.synthesis_workers.count,
        batchBytes: audio.synthesis_workers.batch_bytes,
        idleWorkers: audio.synthesis_workers.idle_count,
        idleTimeoutMs: audio.synthesis_workers.idle_timeout_ms,
        closeWaitMs: audio.synthesis_workers.close_wait_ms,
        youngGenerationMb: audio.synthesis_workers.young_generation_mb,
        clauseMinChars: audio.synthesis_workers.clause_min_chars,
        sliceSec: audio.synthesis_workers.slice_sec,
        espeak: espeakOptionsFromConfig(audio),
        render: renderOptionsFromConfig(audio),
        logger: options.logger,
      });
    case 'openai_speech':
      return new OpenAiSpeechTts(openAiSpeechOptionsFromConfig(audio.openai_speech));
    case 'edge':
      return new EdgeTts(edgeOptionsFromConfig(audio.edge));
  }
}

export interface CreateTtsOptions {
  readonly logger?: Logger;
  /** A sentence fell back from one engine to the next (a metric hooks here). */
  readonly onFallback?: (from: string, to: string, error: AppError) => void;
}

export function createTts(audio: AudioConfig, options: CreateTtsOptions = {}): TtsProvider {
  const members = ttsChain(audio).map((name) => engine(name, audio, options));
  if (members.length === 1) return members[0]!;
  return new FallbackTts(members, options);
}
