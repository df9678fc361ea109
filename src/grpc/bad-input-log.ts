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

const MAX_REASON_CHARS = 120;
const PREFIX = 'invalid request: ';
/** A problem starts with the field it is about: `hardware_id is required`, `prompt is empty`. */
const FIELD = /^([a-z][a-z0-9_]{0,31}) /;

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
    const reason = text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
    this.#logger.info(
      { rid: input.rid, rpc: input.rpc, field: FIELD.exec(reason)?.[1], reason, ...(suppressed > 0 ? { suppressed } : {}) },
      'bad request',
    );
  }
}
