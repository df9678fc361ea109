import { AppError, isAbort, isNetworkFailure, onAbort, throwIfAborted, toAppError } from './errors.js';

export { isNetworkFailure };

/**
 * What the network providers (the language models in `llm/providers/`, the speech engines in
 * `audio/providers/`) share: the client-safe errors, with the service named by a noun; the HTTP
 * status → kind rule; and `UpstreamCall`, the plumbing of one request (cancellation, timeouts,
 * closing it early, translating what it threw). Each provider keeps its own `kindOf` function,
 * the one place that reads its SDK's or transport's error shapes.
 */

/** How a client is told which service failed: "the language model is unavailable". */
export type UpstreamNoun = 'language model' | 'speech engine';

/** The kinds an upstream failure can have; `rejected` becomes a non-retryable `unavailable`. */
export type UpstreamKind = 'limit' | 'unavailable' | 'timeout' | 'rejected' | 'internal';

/** Client-safe messages; upstream text never reaches a client (it stays in the error's cause). */
const SAFE_MESSAGES: Readonly<Record<UpstreamKind, (noun: UpstreamNoun) => string>> = {
  limit: (noun) => `the ${noun} is busy, please try again shortly`,
  unavailable: (noun) => `the ${noun} is unavailable`,
  timeout: (noun) => `the ${noun} did not answer in time`,
  // 401/403: the server's own credentials are wrong. The client is not at fault and cannot fix it,
  // so it is reported as the service being unavailable, never as the client's authentication.
  rejected: (noun) => `the ${noun} rejected the server's credentials`,
  internal: () => 'internal error',
};

/**
 * The kind of an HTTP error status from an upstream API. No status means an error reported inside
 * an already-open stream, i.e. the service failed mid-answer.
 */
export function kindOfHttpStatus(status: number | undefined): UpstreamKind {
  if (status === undefined) return 'unavailable';
  if (status === 429) return 'limit';
  if (status === 401 || status === 403) return 'rejected';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'unavailable';
  // 400, 404, 422 and the rest: our request or our configuration (model, voice, URL) is wrong.
  return 'internal';
}

/** An AppError of `kind` with its safe message; `cause` keeps the upstream detail for the log. */
export function upstreamError(noun: UpstreamNoun, kind: UpstreamKind, cause: unknown): AppError {
  if (kind === 'rejected') return new AppError('unavailable', SAFE_MESSAGES.rejected(noun), { cause, retryable: false });
  return new AppError(kind, SAFE_MESSAGES[kind](noun), { cause });
}

/** The kind of a failure only the network explains: a broken connection, or something unforeseen. */
export function networkKind(error: unknown): UpstreamKind {
  return isNetworkFailure(error) ? 'unavailable' : 'internal';
}

/**
 * A timer that aborts an upstream request with a timeout once `ms` pass without `restart()`:
 * a first-token limit (stopped by the first token) or a stall limit (restarted by each piece).
 */
export class Countdown {
  readonly #ms: number;
  readonly #expire: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number, expire: () => void) {
    this.#ms = ms;
    this.#expire = expire;
    this.restart();
  }

  /** Progress: the countdown starts again. */
  restart(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#expire, this.#ms);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * One request to an upstream service. Its `signal` goes to the SDK or transport; the caller's
 * abort and the call's countdowns end up there, each with its own reason, and aborting it closes
 * the request. In `finally`, `close()` stops the countdowns, lets go of the caller's signal and,
 * unless `complete()` was called, aborts the request: the consumer stopped reading early or
 * something failed, and the connection must not stay open behind an SDK's stream clean-up.
 *
 * `upstreamStream` runs a streamed exchange through one; a provider uses the class directly only
 * where it must act between the failure and its translation.
 */
export class UpstreamCall {
  readonly noun: UpstreamNoun;
  readonly #controller = new AbortController();
  readonly #unlink: () => void;
  readonly #countdowns: Countdown[] = [];
  #completed = false;

  constructor(noun: UpstreamNoun, caller: AbortSignal) {
    this.noun = noun;
    this.#unlink = onAbort(caller, (reason) => this.#controller.abort(reason));
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** A countdown that aborts the request with a timeout; `detail` goes to the log, never to a client. */
  countdown(ms: number, detail: string): Countdown {
    const countdown = new Countdown(ms, () => this.#controller.abort(upstreamError(this.noun, 'timeout', new Error(detail))));
    this.#countdowns.push(countdown);
    return countdown;
  }

  /** Throws the abort reason when the request was aborted (an SDK may end a stream quietly then). */
  throwIfAborted(): void {
    if (this.signal.aborted) throw toAppError(this.signal.reason, this.signal);
  }

  /** The request finished: `close()` leaves it alone. */
  complete(): void {
    this.#completed = true;
  }

  get completed(): boolean {
    return this.#completed;
  }

  /**
   * Whatever the request threw, as an AppError. When the request was aborted its reason (the
   * caller's interrupt, or a countdown's timeout) wins over what the SDK made of it; an AppError
   * stays as it is; anything else becomes the kind `kindOf` reads from it, with the safe message.
   */
  fail(error: unknown, kindOf: (error: unknown) => UpstreamKind = networkKind): AppError {
    if (this.signal.aborted) return toAppError(error, this.signal);
    if (error instanceof AppError) return error;
    if (isAbort(error)) return toAppError(error);
    return upstreamError(this.noun, kindOf(error), error);
  }

  close(): void {
    for (const countdown of this.#countdowns) countdown.stop();
    this.#unlink();
    if (!this.#completed) this.#controller.abort(new AppError('interrupted', 'interrupted'));
  }
}

/**
 * One upstream request as a stream (nothing is sent when `signal` is already aborted): `exchange`
 * reads it through `call` (its signal, countdowns, `complete()` once the answer is whole);
 * whatever it throws leaves as `call.fail(error, kindOf)`, and the call is closed however the
 * stream ends: done, failed, or the consumer gone.
 */
export async function* upstreamStream<T>(
  noun: UpstreamNoun,
  signal: AbortSignal,
  kindOf: (error: unknown) => UpstreamKind,
  exchange: (call: UpstreamCall) => AsyncIterable<T>,
): AsyncGenerator<T> {
  throwIfAborted(signal);
  const call = new UpstreamCall(noun, signal);
  try {
    yield* exchange(call);
  } catch (error) {
    throw call.fail(error, kindOf);
  } finally {
    call.close();
  }
}
