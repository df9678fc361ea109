import { setTimeout as delay } from 'node:timers/promises';
import { throwIfAborted, toAppError } from '../../src/errors.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../../src/llm/provider.js';

/**
 * The reply of the load benchmark: four sentences, about 18 s of speech with the shipped eSpeak
 * voice (en-us, 175 wpm), as in issue #10's load test.
 */
export const LOAD_REPLY =
  'Paris is the capital of France, and it has been for more than a thousand years. ' +
  'It sits on the river Seine, and about twelve million people live in and around it. ' +
  'The city is known for its museums, its cafes and its wide streets. ' +
  'If you would like to hear more, I can tell you about its history, its food or its parks.';

/** Model-like pieces: each word with the space before it, words longer than `maxChars` cut. */
export function wordPieces(text: string, maxChars = 6): string[] {
  const pieces: string[] = [];
  for (const word of text.match(/\s*\S+/gu) ?? []) {
    for (let i = 0; i < word.length; i += maxChars) pieces.push(word.slice(i, i + maxChars));
  }
  return pieces;
}

/**
 * A scripted model that streams `reply` as word pieces `pieceDelayMs` apart, like a model
 * streaming over the network. Named `scripted` so that the server treats it as the scripted demo
 * (no model calls for the long-term memory updater).
 */
export class WordPieceLlm implements LlmProvider {
  readonly name = 'scripted';
  readonly #pieces: readonly string[];
  readonly #pieceDelayMs: number;

  constructor(reply: string, pieceDelayMs: number) {
    this.#pieces = wordPieces(reply);
    this.#pieceDelayMs = pieceDelayMs;
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    for (const [index, text] of this.#pieces.entries()) {
      throwIfAborted(signal);
      if (index > 0 && this.#pieceDelayMs > 0) {
        try {
          await delay(this.#pieceDelayMs, undefined, { signal });
        } catch (error) {
          throw toAppError(error, signal);
        }
      }
      yield { type: 'text', text };
    }
    yield { type: 'usage', inputTokens: Math.ceil(request.prompt.length / 4), outputTokens: this.#pieces.length, model: this.name };
  }
}
