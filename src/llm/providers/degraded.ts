import { throwIfAborted } from '../../errors.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../provider.js';

/** Options of {@link DegradedProvider}; `notice` is `text_processing.degraded_notice`. */
export interface DegradedProviderOptions {
  readonly notice: string;
}

/**
 * Stands in when no language model is configured: every answer is the configured notice, so a
 * fresh install still completes turns end to end (and tells the user what to set up) instead of
 * failing each one.
 */
export class DegradedProvider implements LlmProvider {
  readonly name = 'degraded';
  readonly #notice: string;

  constructor(options: DegradedProviderOptions) {
    this.#notice = options.notice;
  }

  async *stream(_request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    throwIfAborted(signal);
    yield { type: 'text', text: this.#notice };
  }
}
