import type { Logger } from 'pino';
import { cutBytes, RateLimitedLog, type RateLimitedLogOptions } from './rate-limited-log.js';

export type BadInputLogOptions = RateLimitedLogOptions;

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

/**
 * Bad input is the client's mistake, not the server's: one short line at info level (request
 * id, rpc, field, reason; no stack, no echo of the input), and rate-limited, so that a flood of
 * bad requests cannot flood the log. Lines left out are counted in the next one written.
 */
export class BadInputLog {
  readonly #lines: RateLimitedLog;

  constructor(logger: Logger, options: BadInputLogOptions) {
    this.#lines = new RateLimitedLog(logger, options);
  }

  log(input: BadInput): void {
    this.#lines.write('info', 'bad request', () => {
      const text = input.reason.startsWith(PREFIX) ? input.reason.slice(PREFIX.length) : input.reason;
      const reason = cutBytes(text, MAX_REASON_BYTES);
      return { rid: input.rid, rpc: input.rpc, field: FIELD.exec(reason)?.[1], reason };
    });
  }
}
