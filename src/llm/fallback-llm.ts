import { AppError, throwIfAborted, toAppError } from '../errors.js';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import type { LlmEvent, LlmProvider, LlmRequest } from './provider.js';

/** Called when a turn moves on from provider `from` to provider `to` (metrics, logs). */
export type FallbackListener = (from: string, to: string, error: AppError) => void;

/** Options of {@link FallbackLlm}; the server fills the numbers from `text_processing.breaker`. */
export interface FallbackLlmOptions {
  /** The providers in the order they are tried; names must differ. */
  readonly providers: readonly LlmProvider[];
  readonly breaker: { readonly failureThreshold: number; readonly windowMs: number; readonly cooldownMs: number };
  /** The breakers' clock, in milliseconds; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * A turn skipped or left provider `from` and is now tried on `to`. `error` is why: the failure,
   * or an `unavailable` whose cause says the breaker was open.
   */
  readonly onFallback?: FallbackListener;
  /** A provider's breaker changed state. */
  readonly onBreakerChange?: (provider: string, from: BreakerState, to: BreakerState) => void;
}

/** One provider's breaker state, for `/status`. */
export interface ProviderState {
  readonly name: string;
  readonly state: BreakerState;
}

const ALL_UNAVAILABLE = 'the language model is unavailable';

/**
 * Tries providers in order, each behind its own circuit breaker. A provider that fails before
 * any of its events reached the caller (connect error, 5xx, 429, timeout, rejected credentials)
 * hands the turn to the next one; once an event was passed on, the answer is that provider's and
 * its errors propagate: an answer never switches voice halfway. Each attempt runs with the
 * provider's own first-token timeout. When every provider failed, the last failure is thrown.
 */
export class FallbackLlm implements LlmProvider {
  readonly name: string;
  readonly #chain: ReadonlyArray<{ readonly provider: LlmProvider; readonly breaker: CircuitBreaker }>;
  readonly #onFallback: FallbackListener | undefined;

  constructor(options: FallbackLlmOptions) {
    if (options.providers.length === 0) throw new RangeError('a fallback chain needs at least one provider');
    const names = options.providers.map((p) => p.name);
    if (new Set(names).size !== names.length) throw new RangeError(`provider names repeat in the chain: ${names.join(', ')}`);
    this.name = names.join('>');
    this.#onFallback = options.onFallback;
    this.#chain = options.providers.map((provider) => ({
      provider,
      breaker: new CircuitBreaker({
        ...options.breaker,
        now: options.now,
        onStateChange: (from, to) => options.onBreakerChange?.(provider.name, from, to),
      }),
    }));
  }

  /** Every provider's breaker state, in chain order. */
  states(): ProviderState[] {
    return this.#chain.map(({ provider, breaker }) => ({ name: provider.name, state: breaker.state }));
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    let lastFailure: AppError | undefined;
    let handover: { from: string; error: AppError } | undefined;
    for (const { provider, breaker } of this.#chain) {
      throwIfAborted(signal);
      const permit = breaker.tryAcquire();
      if (!permit) {
        handover ??= { from: provider.name, error: new AppError('unavailable', ALL_UNAVAILABLE, { cause: new Error(`${provider.name}: circuit open`) }) };
        continue;
      }
      if (handover) this.#onFallback?.(handover.from, provider.name, handover.error);
      handover = undefined;
      let passedOn = false;
      let verdict: 'success' | 'failure' | undefined;
      try {
        for await (const event of provider.stream(request, signal)) {
          passedOn = true;
          yield event;
        }
        verdict = 'success';
        return;
      } catch (thrown) {
        // The turn's own abort (interrupt, deadline, shutdown) is never the provider's fault.
        if (signal.aborted) throw toAppError(thrown, signal);
        const error = toAppError(thrown);
        if (!isProviderFault(error)) throw error;
        verdict = 'failure';
        if (passedOn) throw error;
        lastFailure = error;
        handover = { from: provider.name, error };
      } finally {
        // No verdict: the consumer stopped reading, or the error said nothing about the provider.
        if (verdict === 'success') permit.succeeded();
        else if (verdict === 'failure') permit.failed();
        else permit.released();
      }
    }
    throw lastFailure ?? handover?.error ?? new AppError('unavailable', ALL_UNAVAILABLE);
  }
}

/**
 * Failures that say the provider cannot answer now, where another one might: connection errors,
 * 5xx, 429 and timeouts (the retryable kinds), and `unavailable` even when not retryable (our
 * credentials for that provider were refused). Bad input, interrupts and internal errors (our
 * own request or configuration) would fail the same way anywhere.
 */
function isProviderFault(error: AppError): boolean {
  return error.retryable || error.kind === 'unavailable';
}
