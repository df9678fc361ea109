/** One bucket's settings: `burst` calls at once, refilled at `perMinute`. `burst` 0: no limit. */
export interface BucketSpec {
  readonly burst: number;
  readonly perMinute: number;
}

export type RateVerdict = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** Clock time of the last refill (ms). */
  at: number;
}

export interface RateLimiterOptions {
  /** A bucket unused this long is dropped: it would be full again, so nothing is lost. */
  readonly idleMs: number;
  /** Hard bound of the map; the least recently used bucket goes first. */
  readonly maxBuckets: number;
  /** Milliseconds, monotonic in production; tests pass a clock they move. */
  readonly now: () => number;
  /** A bucket was dropped before it was idle, to keep the bound (metrics). */
  readonly onEvicted?: () => void;
}

const MS_PER_MINUTE = 60_000;

/**
 * Token buckets by key (`commit:hw:<id>`, `collect:peer:<ip>`…) in one bounded map. The map is
 * kept in least-recently-used order (a hit moves its key to the end), so the idle and the
 * over-the-bound buckets are always at the front and eviction never scans.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #options: RateLimiterOptions;

  constructor(options: RateLimiterOptions) {
    this.#options = options;
  }

  /** Buckets held now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token from `key`'s bucket; refused (with when to retry) when it is empty. */
  take(key: string, spec: BucketSpec): RateVerdict {
    if (spec.burst <= 0) return { ok: true };
    const now = this.#options.now();
    this.#evictIdle(now);
    const refillPerMs = spec.perMinute / MS_PER_MINUTE;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: spec.burst, at: now };
    } else {
      this.#buckets.delete(key);
      bucket.tokens = Math.min(spec.burst, bucket.tokens + Math.max(0, now - bucket.at) * refillPerMs);
      bucket.at = now;
    }
    this.#buckets.set(key, bucket);
    this.#evictOverBound();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / refillPerMs) };
  }

  #evictIdle(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (now - bucket.at < this.#options.idleMs) return;
      this.#buckets.delete(key);
    }
  }

  #evictOverBound(): void {
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#options.maxBuckets) return;
      this.#buckets.delete(key);
      this.#options.onEvicted?.();
    }
  }
}
