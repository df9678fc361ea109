import { SentenceSplitter, type SentenceSplitterOptions } from '../src/pipeline/sentence-splitter.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../src/llm/provider.js';

/** Absolute milliseconds (`timeOrigin + now`): comparable across threads and processes of one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * A language model wrapper that notes, per prompt, when it yields the token after which the
 * server's splitter (same options) can cut the first segment: the moment the first segment's
 * text has arrived from the model.
 */
export class SentenceEndClock implements LlmProvider {
  readonly name: string;
  readonly firstSegmentAt = new Map<string, number>();
  /** When the server asked the model, per prompt: the end of the turn's set-up. */
  readonly requestedAt = new Map<string, number>();
  readonly #inner: LlmProvider;
  readonly #splitter: SentenceSplitterOptions;

  constructor(inner: LlmProvider, splitter: SentenceSplitterOptions) {
    this.name = inner.name;
    this.#inner = inner;
    this.#splitter = splitter;
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    this.requestedAt.set(request.prompt, now());
    const splitter = new SentenceSplitter(this.#splitter);
    let marked = false;
    for await (const event of this.#inner.stream(request, signal)) {
      if (!marked && event.type === 'text' && splitter.push(event.text).length > 0) {
        marked = true;
        this.firstSegmentAt.set(request.prompt, now());
      }
      yield event;
    }
  }

  /** Forgets what was noted (between load levels). */
  clear(): void {
    this.firstSegmentAt.clear();
    this.requestedAt.clear();
  }
}
