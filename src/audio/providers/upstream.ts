import { endianness } from 'node:os';
import { AppError, type ErrorKind, isAbort, isNetworkFailure, toAppError } from '../../errors.js';

export { isNetworkFailure };

/**
 * What the network speech engines share: client-safe errors, the HTTP status → kind rule, the
 * test for a broken connection, a stall timer and turning PCM bytes into samples. Each engine
 * keeps its own translate step, the one place that reads its transport's error shapes.
 */

/** Client-safe messages; upstream text never reaches a client (it stays in the error's cause). */
const SAFE_MESSAGES = {
  limit: 'the speech engine is busy, please try again shortly',
  unavailable: 'the speech engine is unavailable',
  timeout: 'the speech engine did not answer in time',
  // 401/403: the server's own credentials or token are wrong. The client cannot fix that, so it
  // is the engine being unavailable (not retryable), never the client's authentication.
  rejected: "the speech engine rejected the server's credentials",
  internal: 'internal error',
} as const satisfies Partial<Record<ErrorKind | 'rejected', string>>;

/** The kinds an upstream failure can have; `rejected` becomes a non-retryable `unavailable`. */
export type SpeechUpstreamKind = keyof typeof SAFE_MESSAGES;

/** The kind of an HTTP error status from a speech API. */
export function kindOfHttpStatus(status: number): SpeechUpstreamKind {
  if (status === 429) return 'limit';
  if (status === 401 || status === 403) return 'rejected';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'unavailable';
  // 400, 404, 422 and the rest: our request or our configuration (model, voice, URL) is wrong.
  return 'internal';
}

/** An AppError of `kind` with its safe message; `cause` keeps the upstream detail for the log. */
export function speechError(kind: SpeechUpstreamKind, cause: unknown): AppError {
  if (kind === 'rejected') return new AppError('unavailable', SAFE_MESSAGES.rejected, { cause, retryable: false });
  return new AppError(kind, SAFE_MESSAGES[kind], { cause });
}

/**
 * Whatever a speech request threw, as an AppError. `signal` is the upstream request's: when it
 * was aborted, its reason (the caller's interrupt, or the stall timer's timeout) wins.
 */
export function translateSpeechError(error: unknown, signal: AbortSignal): AppError {
  if (signal.aborted) return toAppError(error, signal);
  if (error instanceof AppError) return error;
  if (isAbort(error)) return toAppError(error);
  if (isNetworkFailure(error)) return speechError('unavailable', error);
  return speechError('internal', error);
}

/**
 * Aborts `controller` with a timeout once nothing happened for `ms`: no answer, no handshake,
 * or a gap between two pieces of audio. A stream that keeps delivering is never cut.
 */
export class StallTimer {
  readonly #ms: number;
  readonly #controller: AbortController;
  readonly #what: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number, controller: AbortController, what: string) {
    this.#ms = ms;
    this.#controller = controller;
    this.#what = what;
    this.restart();
  }

  /** Progress: the countdown starts again. */
  restart(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#controller.abort(speechError('timeout', new Error(`${this.#what}: nothing for ${this.#ms} ms`)));
    }, this.#ms);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

const bigEndianHost = endianness() === 'BE';

/**
 * Little-endian int16 PCM arriving as bytes in pieces of any length: each piece's whole samples
 * now, an odd trailing byte kept for the next piece.
 */
export class PcmBytes {
  #pending: number | undefined;

  /** The samples completed by `bytes` (a copy, aligned, in host order). */
  push(bytes: Uint8Array): Int16Array {
    const carried = this.#pending === undefined ? 0 : 1;
    const total = carried + bytes.length;
    const whole = total - (total % 2);
    const out = new Uint8Array(whole);
    if (whole > 0) {
      if (carried === 1) out[0] = this.#pending!;
      out.set(bytes.subarray(0, whole - carried), carried);
    }
    if (total % 2 === 0) this.#pending = undefined;
    else if (bytes.length > 0) this.#pending = bytes[bytes.length - 1];
    if (bigEndianHost) Buffer.from(out.buffer, out.byteOffset, out.byteLength).swap16();
    return new Int16Array(out.buffer, 0, whole / 2);
  }

  /** True when half a sample is waiting: the stream ended on an odd byte. */
  get pendingByte(): boolean {
    return this.#pending !== undefined;
  }
}
