import { setTimeout as delay } from 'node:timers/promises';
import { AppError, type ErrorKind, throwIfAborted, toAppError } from '../../errors.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../provider.js';

/** Options of {@link ScriptedProvider}; the server fills them from `text_processing.scripted`. */
export interface ScriptedProviderOptions {
  /** The reply, or a function of the request (tests use it to echo the prompt). */
  readonly reply: string | ((request: LlmRequest) => string);
  /** Wait before the first token (time to first token). */
  readonly firstTokenDelayMs: number;
  /** Wait between tokens. */
  readonly tokenDelayMs: number;
  /** Characters (code points) per token; at least 1. */
  readonly tokenChars: number;
  /** Fail after the first-token wait, before any text. */
  readonly failBeforeFirstToken: boolean;
  /**
   * Fail once exactly this many characters (code points) have been emitted; -1 never. A reply
   * shorter than this completes normally.
   */
  readonly failAfterChars: number;
  /** The kind of the AppError a failure throws. */
  readonly failKind: ErrorKind;
}

/** A rough tokens-per-character ratio, only so that usage figures look plausible. */
const CHARS_PER_TOKEN = 4;

/**
 * A deterministic language model: the configured reply, cut into fixed-size tokens, with
 * scripted delays and failures. Serves tests, benchmarks and demos with no model at hand.
 */
export class ScriptedProvider implements LlmProvider {
  readonly name = 'scripted';
  readonly #options: ScriptedProviderOptions;

  constructor(options: ScriptedProviderOptions) {
    if (!Number.isInteger(options.tokenChars) || options.tokenChars < 1) {
      throw new RangeError('tokenChars must be a positive integer');
    }
    this.#options = options;
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    const o = this.#options;
    const reply = typeof o.reply === 'function' ? o.reply(request) : o.reply;
    const chars = Array.from(reply);
    const failAt = o.failBeforeFirstToken ? 0 : o.failAfterChars;

    await pause(o.firstTokenDelayMs, signal);
    let emitted = 0;
    while (emitted < chars.length) {
      if (emitted === failAt) throw scriptedFailure(o.failKind);
      if (emitted > 0) await pause(o.tokenDelayMs, signal);
      // A token stops at the failure point so that exactly `failAfterChars` characters go out.
      const end = failAt > emitted ? Math.min(emitted + o.tokenChars, failAt) : emitted + o.tokenChars;
      const text = chars.slice(emitted, end).join('');
      emitted = Math.min(end, chars.length);
      throwIfAborted(signal);
      yield { type: 'text', text };
    }
    if (emitted === failAt) throw scriptedFailure(o.failKind);

    const input = [request.system, ...request.history.map((m) => m.content), request.prompt].join('');
    yield {
      type: 'usage',
      inputTokens: Math.ceil(input.length / CHARS_PER_TOKEN),
      outputTokens: Math.ceil(reply.length / CHARS_PER_TOKEN),
      model: this.name,
    };
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  if (ms <= 0) return;
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    throw toAppError(error, signal);
  }
}

function scriptedFailure(kind: ErrorKind): AppError {
  return new AppError(kind, `the language model failed (scripted ${kind})`);
}
