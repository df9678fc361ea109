import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { LlmProvider, LlmRequest } from '../text-processing/provider.js';
import { toSpeechText } from '../text-processing/speech-text.js';
import type { Segmenter, Speaker, TurnEvent } from './ports.js';

export interface SpeakSentencesOptions {
  readonly llm: LlmProvider;
  readonly speaker: Speaker;
  readonly segmenter: Segmenter;
  readonly request: LlmRequest;
  readonly signal: AbortSignal;
  readonly metrics: Metrics;
  /** Called once a sentence's last audio piece has been taken by the consumer (written). */
  readonly onHeard: (sentence: string) => void;
  readonly onUsage: (usage: { inputTokens: number; outputTokens: number }) => void;
}

/** Model text → sentences, as each completes. */
async function* sentences(options: SpeakSentencesOptions): AsyncGenerator<string> {
  const { llm, request, signal, segmenter, metrics, onUsage } = options;
  const started = performance.now();
  let first = true;
  for await (const event of llm.stream(request, signal)) {
    if (event.type === 'usage') {
      onUsage(event);
      continue;
    }
    // No tools are offered to the model yet, so a tool call is not ours to run.
    if (event.type === 'tool_call') continue;
    if (first) {
      first = false;
      metrics.llmFirstToken.observe((performance.now() - started) / 1000);
    }
    yield* segmenter.push(event.text);
  }
  yield* segmenter.flush();
}

/**
 * The streaming core of a turn: for each sentence, its display text, then its audio. The
 * sentence's `text` event always precedes its audio; TTS gets the spoken form of the text.
 */
export async function* speakSentences(options: SpeakSentencesOptions): AsyncGenerator<TurnEvent> {
  const { speaker, signal, metrics, onHeard } = options;
  let count = 0;
  for await (const sentence of sentences(options)) {
    count++;
    const speech = toSpeechText(sentence);
    yield { type: 'text', text: sentence };
    if (speech === '') {
      onHeard(sentence);
      continue;
    }
    const started = performance.now();
    let first = true;
    for await (const piece of speaker.speak(speech, {}, signal)) {
      if (first) {
        first = false;
        metrics.ttsFirstAudio.observe((performance.now() - started) / 1000);
      }
      yield { type: 'audio', piece };
    }
    onHeard(sentence);
  }
  if (count === 0) throw new AppError('unavailable', 'the language model gave no answer');
}
