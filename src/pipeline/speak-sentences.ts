import { setImmediate as nextTurn } from 'node:timers/promises';
import { PlaybackClock } from '../audio/playback-clock.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { LlmProvider, LlmRequest } from '../llm/provider.js';
import { toSpeechText } from '../text-processing/speech-text.js';
import { orderedLookahead } from './ordered-lookahead.js';
import type { AudioPiece, Segmenter, Speaker, TurnEvent } from './ports.js';

/** The `pipeline` config keys that shape the speech stream. */
export interface LookaheadLimits {
  /** Sentences synthesized at once at most, the one being sent included (`pipeline.synthesis_lookahead`). */
  readonly synthesisLookahead: number;
  /**
   * Seconds of audio a stream may hold ahead of its playback before a sentence is synthesized
   * ahead (`pipeline.synthesis_lookahead_sec`); absent: only the count applies.
   */
  readonly synthesisLookaheadSec?: number;
  /** Finished sentences held for speech before the model stream waits (`pipeline.pending_sentences_max`). */
  readonly pendingSentencesMax: number;
}

/** The look-ahead limits from the `pipeline` config section. */
export function lookaheadLimits(pipeline: {
  readonly synthesis_lookahead: number;
  readonly synthesis_lookahead_sec?: number;
  readonly pending_sentences_max: number;
}): LookaheadLimits {
  return {
    synthesisLookahead: pipeline.synthesis_lookahead,
    synthesisLookaheadSec: pipeline.synthesis_lookahead_sec,
    pendingSentencesMax: pipeline.pending_sentences_max,
  };
}

export interface SpeakSentencesOptions {
  readonly llm: LlmProvider;
  readonly speaker: Speaker;
  readonly segmenter: Segmenter;
  readonly request: LlmRequest;
  readonly signal: AbortSignal;
  readonly metrics: Metrics;
  readonly limits: LookaheadLimits;
  /** Called once a sentence's last audio piece has been taken by the consumer (written). */
  readonly onHeard: (sentence: string) => void;
  readonly onUsage?: (usage: { inputTokens: number; outputTokens: number }) => void;
  /**
   * The action_json of a tool call that reached the stream (the turn's action gate has already
   * dropped every call it refused). Absent: tool calls are ignored.
   */
  readonly actionJson?: (call: { readonly name: string; readonly args: Readonly<Record<string, unknown>> }) => string;
}

/** A piece of the reply in stream order: a sentence to speak, or an action to send where it fell. */
type Segment = string | { readonly actionJson: string };

/** Model text → sentences, as each completes, and actions where they fall between them. */
async function* sentences(options: SpeakSentencesOptions, signal: AbortSignal): AsyncGenerator<Segment> {
  const { llm, request, segmenter, metrics, onUsage } = options;
  const started = performance.now();
  let first = true;
  for await (const event of llm.stream(request, signal)) {
    if (event.type === 'usage') {
      onUsage?.(event);
      continue;
    }
    if (event.type === 'tool_call') {
      if (!options.actionJson) continue;
      // The call ends the sentence in progress, so the text before it is spoken before it.
      yield* segmenter.cut();
      yield { actionJson: options.actionJson(event) };
      continue;
    }
    if (first) {
      first = false;
      metrics.llmFirstToken.observe((performance.now() - started) / 1000);
    }
    yield* segmenter.push(event.text);
  }
  yield* segmenter.flush();
}

/**
 * One sentence's audio; blank speech (only markup, say) has none. An embedded engine computes on
 * this thread in bursts that no await interrupts, so the event loop gets a turn between pieces
 * and before a sentence synthesized `ahead` starts: audio already handed to the transport leaves
 * first. The sentence the client waits for starts at once. A speaker whose pieces are made on
 * other threads gets no turn between pieces: the pieces that arrived together are written
 * together (one HTTP/2 flush), not one per turn of the loop.
 */
async function* speech(sentence: string, options: SpeakSentencesOptions, signal: AbortSignal, ahead: boolean, clock: PlaybackClock): AsyncGenerator<AudioPiece> {
  const text = toSpeechText(sentence);
  if (text === '') return;
  if (ahead) await nextTurn();
  const started = performance.now();
  const turnBetweenPieces = options.speaker.offThread !== true;
  let first = true;
  for await (const piece of options.speaker.speak(text, {}, signal, clock)) {
    if (first) {
      first = false;
      options.metrics.ttsFirstAudio.observe((performance.now() - started) / 1000);
    }
    yield piece;
    if (turnBetweenPieces) await nextTurn();
  }
}

/** An action has no audio: it is sent as soon as everything before it was. */
async function* noAudio(): AsyncGenerator<AudioPiece> {}

/**
 * The streaming core of a turn: for each sentence, its display text, then its audio, strictly
 * in sentence order. Behind the sentence being sent, the next ones are already synthesized (up
 * to `synthesisLookahead` at once), and the model stream is read on its own, so neither a slow
 * engine nor a slow client holds the model's tokens back. A synthesis that fails ahead surfaces
 * in order, after the sentences before it were sent.
 */
export async function* speakSentences(options: SpeakSentencesOptions): AsyncGenerator<TurnEvent> {
  const { signal, limits, onHeard } = options;
  // The stream's playback as the client hears it: the scheduler's deadlines and the look-ahead.
  const clock = new PlaybackClock();
  const aheadSec = limits.synthesisLookaheadSec;
  const lanes = orderedLookahead(
    (inner) => sentences(options, inner),
    (segment: Segment, inner, ahead) => (typeof segment === 'string' ? speech(segment, options, inner, ahead, clock) : noAudio()),
    {
      limit: limits.synthesisLookahead,
      pending: limits.pendingSentencesMax,
      signal,
      aheadAfterMs: aheadSec === undefined ? undefined : () => (clock.aheadSec() - aheadSec) * 1000,
    },
  );
  let count = 0;
  for await (const { item, results } of lanes) {
    count++;
    if (typeof item !== 'string') {
      yield { type: 'action', actionJson: item.actionJson };
      continue;
    }
    const sentence = item;
    yield { type: 'text', text: sentence };
    for await (const piece of results) {
      yield { type: 'audio', piece };
      clock.written();
    }
    onHeard(sentence);
  }
  if (count === 0) throw new AppError('unavailable', 'the language model gave no answer');
}
