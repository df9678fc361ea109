import type { Logger } from 'pino';
import type { ErrorKind } from '../errors.js';
import { cutBytes, RateLimitedLog, type RateLimitedLogOptions } from './rate-limited-log.js';

/** Kinds that turn a call away before any work: a limit (RESOURCE_EXHAUSTED), no or the wrong device token. */
const REFUSAL_KINDS: ReadonlySet<ErrorKind> = new Set(['limit', 'unauthenticated', 'denied']);

export function isRefusal(kind: ErrorKind): boolean {
  return REFUSAL_KINDS.has(kind);
}

export interface Refusal {
  readonly rid: string;
  readonly rpc: string;
  readonly kind: ErrorKind;
  /** The message the client got, e.g. `too many COMMIT requests from this address: try again in 3 s`. */
  readonly reason: string;
}

/** Keeps a whole line within 300 bytes, whatever the rpc, kind and count (a test checks the worst case). */
const MAX_REASON_BYTES = 64;

/**
 * A refusal is the limits (or device tokens) doing their job, and a client that hammers the
 * server gets one per call: one short info line (request id, rpc, kind, reason; no stack, no
 * cause), rate-limited like bad input, the lines left out counted in the next one written. The
 * metrics (`nexy_limit_exceeded_total`, `nexy_auth_failures_total`) count every refusal.
 */
export class RefusalLog {
  readonly #lines: RateLimitedLog;

  constructor(logger: Logger, options: RateLimitedLogOptions) {
    this.#lines = new RateLimitedLog(logger, options);
  }

  log(refusal: Refusal): void {
    this.#lines.write('info', 'request refused', () => ({
      rid: refusal.rid,
      rpc: refusal.rpc,
      kind: refusal.kind,
      reason: cutBytes(refusal.reason, MAX_REASON_BYTES),
    }));
  }
}
