/**
 * The time admission runs on: rate buckets refill, token lookups expire, quota periods turn and
 * the stream duration limit fires by it. Production uses the system clock; tests pass a
 * {@link ManualClock} and move it, so nothing waits for real time.
 */
export interface AdmissionClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once `ms` have passed; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: AdmissionClock = {
  now: () => Date.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** A clock that moves only when told to; due callbacks run inside `advance`. */
export class ManualClock implements AdmissionClock {
  #now: number;
  #timers: Array<{ at: number; fn: () => void }> = [];

  constructor(start = Date.parse('2026-01-05T12:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Timers waiting now (tests: a limit armed or released). */
  get pending(): number {
    return this.#timers.length;
  }

  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now).sort((a, b) => a.at - b.at);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    for (const timer of due) timer.fn();
  }
}
