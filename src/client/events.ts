import type { AudioChunk, StreamResponse, WelcomeResponse } from '../gen/streaming.js';
import type { PcmChunk } from './wav.js';

/**
 * The typed events of NexyClient's streams: the proto's `oneof content` flattened into a
 * discriminated union, so callers switch on `type` instead of `$case` and never see an empty
 * message.
 */

/** One chunk of raw PCM, ready for WavBuilder or a player. */
export interface AudioEvent extends PcmChunk {
  readonly type: 'audio';
  readonly data: Buffer;
  readonly shape: readonly number[];
  /** Samples per channel in `data`. */
  readonly frames: number;
}

export interface TextEvent {
  readonly type: 'text';
  readonly text: string;
}

export interface ActionEvent {
  readonly type: 'action';
  readonly actionJson: string;
  readonly sessionId: string;
  readonly featureId?: string;
}

/** `end_message`: "completed" after an answer, "collect_ok" after a COLLECT. */
export interface EndEvent {
  readonly type: 'end';
  readonly message: string;
}

/** `error_message`: readable text; the status that follows is thrown as NexyClientError. */
export interface ErrorEvent {
  readonly type: 'error';
  readonly message: string;
}

export interface WelcomeMetadataEvent {
  readonly type: 'metadata';
  readonly method: string;
  readonly durationSec: number;
  readonly sampleRate: number;
  readonly channels: number;
  readonly dtype: string;
}

export type NexyEvent = TextEvent | AudioEvent | ActionEvent | EndEvent | ErrorEvent;
export type WelcomeEvent = WelcomeMetadataEvent | AudioEvent | EndEvent | ErrorEvent;

const BYTES_PER_SAMPLE: Readonly<Record<string, number>> = { int16: 2, int16_be: 2, float32: 4 };

function audioEvent(chunk: AudioChunk): AudioEvent {
  const sampleBytes = BYTES_PER_SAMPLE[chunk.dtype];
  const frames = sampleBytes && chunk.channels > 0 ? chunk.audioData.byteLength / (sampleBytes * chunk.channels) : 0;
  return {
    type: 'audio',
    data: chunk.audioData,
    dtype: chunk.dtype,
    shape: chunk.shape,
    sampleRate: chunk.sampleRate,
    channels: chunk.channels,
    frames,
  };
}

/** What both streams carry: audio, the end, an error. */
type SharedContent = Extract<NonNullable<StreamResponse['content'] | WelcomeResponse['content']>, { $case: 'audioChunk' | 'endMessage' | 'errorMessage' }>;

function sharedEvent(content: SharedContent): AudioEvent | EndEvent | ErrorEvent {
  switch (content.$case) {
    case 'audioChunk':
      return audioEvent(content.audioChunk);
    case 'endMessage':
      return { type: 'end', message: content.endMessage };
    case 'errorMessage':
      return { type: 'error', message: content.errorMessage };
  }
}

/** A StreamAudio message as an event; undefined for an empty message (nothing to report). */
export function toNexyEvent(message: StreamResponse): NexyEvent | undefined {
  const content = message.content;
  if (content === undefined) return undefined;
  switch (content.$case) {
    case 'textChunk':
      return { type: 'text', text: content.textChunk };
    case 'actionMessage': {
      const { actionJson, sessionId, featureId } = content.actionMessage;
      return featureId === undefined ? { type: 'action', actionJson, sessionId } : { type: 'action', actionJson, sessionId, featureId };
    }
    default:
      return sharedEvent(content);
  }
}

/** A GenerateWelcomeAudio message as an event; undefined for an empty message. */
export function toWelcomeEvent(message: WelcomeResponse): WelcomeEvent | undefined {
  const content = message.content;
  if (content === undefined) return undefined;
  switch (content.$case) {
    case 'metadata':
      return { type: 'metadata', ...content.metadata };
    default:
      return sharedEvent(content);
  }
}
