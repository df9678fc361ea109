import type { Logger } from 'pino';

export interface BadInputLogOptions {
  /** At most this many bad-input lines per interval; the rest are counted, not written. */
  readonly maxPerInterval: number;
  readonly intervalMs: number;
  readonly now?: () => number;
}

export interface BadInput {
  readonly rid: string;
  readonly rpc: string;
  /** What the client sent wrong, e.g. `invalid request: hardware_id is required`. */
  readonly reason: string;
}

/** Keeps a whole line within 300 bytes, whatever the rpc, field and count (a test checks the worst case). */
const MAX_REASON_BYTES = 64;
const PREFIX = 'invalid request: ';
/** A problem starts with the field it is about: `hardware_id is required`, `prompt is empty`. */
const FIELD = /^([a-z][a-z0-9_]{0,19}) /;

/** Bytes `text` takes in a JSON log line (escapes included). */
const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text)) - 2;

/** `text` cut to at most `max` bytes as logged, on a character boundary, marked with … when cut. */
function cutBytes(text: string, max: number): string {
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
 * Bad input is the client's mistake, not the server's: one short line at info level (request
 * id, rpc, field, reason; no stack, no echo of the input), and rate-limited, so that a flood of
 * bad requests cannot flood the log. Lines left out are counted in the next one written.
 */
export class BadInputLog {
  readonly #logger: Logger;
  readonly #options: BadInputLogOptions;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #written = 0;
  #suppressed = 0;

  constructor(logger: Logger, options: BadInputLogOptions) {
    this.#logger = logger;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  log(input: BadInput): void {
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
    const text = input.reason.startsWith(PREFIX) ? input.reason.slice(PREFIX.length) : input.reason;
    const reason = cutBytes(text, MAX_REASON_BYTES);
    this.#logger.info(
      { rid: input.rid, rpc: input.rpc, field: FIELD.exec(reason)?.[1], reason, ...(suppressed > 0 ? { suppressed } : {}) },
      'bad request',
    );
  }
}
