import type { Level, Logger } from 'pino';

export interface RateLimitedLogOptions {
  /** At most this many lines per interval; the rest are counted, not written. */
  readonly maxPerInterval: number;
  readonly intervalMs: number;
  readonly now?: () => number;
}

/** Bytes `text` takes in a JSON log line (escapes included). */
const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text)) - 2;

/** `text` cut to at most `max` bytes as logged, on a character boundary, marked with … when cut. */
export function cutBytes(text: string, max: number): string {
  if (jsonBytes(text) <= max) return text;
  let out = '';
  let bytes = 3; // the ellipsis
  for (const char of text) {
    bytes += jsonBytes(char);
    if (bytes > max) break;
    out += char;
  }
  return `${out}…`;
}

/**
 * A log line that a flood of requests could repeat without end (bad input, refusals by a limit):
 * at most `maxPerInterval` lines per interval, the lines left out counted in the next one
 * written (`suppressed`).
 */
export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #options: RateLimitedLogOptions;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #written = 0;
  #suppressed = 0;

  constructor(logger: Logger, options: RateLimitedLogOptions) {
    this.#logger = logger;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Writes `message` at `level` unless this interval's lines are used up. `fields` is called only
   * for a line written, so that a flood costs a counter, not the formatting.
   */
  write(level: Level, message: string, fields: () => Record<string, unknown>): void {
    const now = this.#now();
    if (now - this.#windowStart >= this.#options.intervalMs) {
      this.#windowStart = now;
      this.#written = 0;
    }
    if (this.#written >= this.#options.maxPerInterval) {
      this.#suppressed++;
      return;
    }
    this.#written++;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    this.#logger[level]({ ...fields(), ...(suppressed > 0 ? { suppressed } : {}) }, message);
  }
}
