import type { PlaybackClock } from '../audio/playback-clock.js';
import type { VoiceRequest } from '../audio/provider.js';
import type { AudioPiece } from '../audio/speech-output.js';

export type { AudioPiece };

/**
 * What the pipeline needs from its neighbours, stated as small structural interfaces so the
 * pipeline depends on shapes, not on modules' internals.
 */

/** A whole utterance for the welcome RPC, which announces its duration before the audio. */
export interface Utterance {
  readonly pieces: readonly AudioPiece[];
  readonly durationSec: number;
  readonly fromCache: boolean;
  readonly engine: string;
}

/** The audio stage: TTS, resampling and chunking behind one call. */
export interface Speaker {
  /** `clock`: the stream's playback, for scheduling and the look-ahead in seconds. */
  speak(text: string, voice: VoiceRequest, signal: AbortSignal, clock?: PlaybackClock): AsyncIterable<AudioPiece>;
  speakCached(text: string, voice: VoiceRequest, signal: AbortSignal): Promise<Utterance>;
  /**
   * True when `speak` only hands over pieces made on other threads (the synthesis pool): the
   * pipeline then passes on every piece that is ready at once. Absent or false: pieces may be
   * computed on this thread in bursts, and the event loop gets a turn after each.
   */
  readonly offThread?: boolean;
}

/** Turns streamed model text into sentences to speak. */
export interface Segmenter {
  push(text: string): string[];
  /** Ends the sentence in progress; the reply goes on. */
  cut(): string[];
  flush(): string[];
  reset(): void;
}

/** What a turn yields to its transport, in order. */
export type TurnEvent =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'audio'; readonly piece: AudioPiece }
  /** A validated assistant action; `actionJson` is what goes into ActionMessage.action_json. */
  | { readonly type: 'action'; readonly actionJson: string }
  | { readonly type: 'end' };
