/**
 * A circuit breaker for one upstream provider: after `failureThreshold` failures within
 * `windowMs` it opens and callers skip the provider for `cooldownMs`; then it is half-open and
 * lets exactly one attempt through, whose outcome closes it again or re-opens it.
 */

/** `half_open`: the cool-down is over and one trial attempt may run. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Options of {@link CircuitBreaker}; the server fills the numbers from `text_processing.breaker`. */
export interface CircuitBreakerOptions {
  readonly failureThreshold: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
  /** The clock, in milliseconds; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
  /** Called on every state change (logs). */
  readonly onStateChange?: (from: BreakerState, to: BreakerState) => void;
}

/**
 * Leave to make one attempt. Settle it once, with the attempt's outcome: `failed` for a fault of
 * the provider, `succeeded` once it answered, `released` when the attempt ended with no verdict
 * on the provider (the user interrupted, the request itself was bad).
 */
export interface BreakerPermit {
  succeeded(): void;
  failed(): void;
  released(): void;
}

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #windowMs: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  readonly #onStateChange: ((from: BreakerState, to: BreakerState) => void) | undefined;
  #state: BreakerState = 'closed';
  /** Times of the failures still inside the window (closed state only). */
  #failures: number[] = [];
  #openedAt = 0;
  #trialRunning = false;
  /**
   * Bumped on every state change. A permit counts only in the generation it was issued in, so a
   * slow attempt started before the breaker opened cannot decide a later half-open trial.
   */
  #generation = 0;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
      throw new RangeError('failureThreshold must be a positive integer');
    }
    this.#threshold = options.failureThreshold;
    this.#windowMs = options.windowMs;
    this.#cooldownMs = options.cooldownMs;
    this.#now = options.now ?? Date.now;
    this.#onStateChange = options.onStateChange;
  }

  /** The state now (an open breaker whose cool-down has passed reads as `half_open`). */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#cooldownMs) this.#moveTo('half_open');
    return this.#state;
  }

  /** A permit when an attempt may run now; undefined when the provider must be skipped. */
  tryAcquire(): BreakerPermit | undefined {
    switch (this.state) {
      case 'open':
        return undefined;
      case 'half_open':
        if (this.#trialRunning) return undefined;
        this.#trialRunning = true;
        return this.#permit(true);
      case 'closed':
        return this.#permit(false);
    }
  }

  #permit(trial: boolean): BreakerPermit {
    const generation = this.#generation;
    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'none'): void => {
      if (settled) return;
      settled = true;
      if (generation !== this.#generation) return;
      if (trial) this.#trialRunning = false;
      if (outcome === 'success' && trial) this.#moveTo('closed');
      else if (outcome === 'failure') this.#recordFailure(trial);
    };
    return {
      succeeded: () => settle('success'),
      failed: () => settle('failure'),
      released: () => settle('none'),
    };
  }

  #recordFailure(trial: boolean): void {
    const now = this.#now();
    if (trial) return this.#open(now);
    this.#failures = this.#failures.filter((at) => now - at < this.#windowMs);
    this.#failures.push(now);
    if (this.#failures.length >= this.#threshold) this.#open(now);
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#moveTo('open');
  }

  #moveTo(next: BreakerState): void {
    const previous = this.#state;
    this.#state = next;
    this.#generation += 1;
    this.#failures = [];
    this.#trialRunning = false;
    if (previous !== next) this.#onStateChange?.(previous, next);
  }
}
