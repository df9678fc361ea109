import { AppError, type ErrorKind } from '../../errors.js';

export { isNetworkFailure } from '../../errors.js';

/**
 * What the model providers share when they turn an upstream failure into an AppError: the
 * client-safe messages, the HTTP status → kind rule and the test for a broken connection. Each
 * provider keeps its own translate function, the one place that reads its SDK's error shapes.
 */

/** Client-safe messages; upstream text never reaches a client (it stays in the error's cause). */
const SAFE_MESSAGES = {
  limit: 'the language model is busy, please try again shortly',
  unavailable: 'the language model is unavailable',
  timeout: 'the language model did not answer in time',
  // 401/403 from the model: the server's own credentials are wrong. The client is not at fault and
  // cannot fix it, so it is reported as the model being unavailable, never as the client's auth.
  rejected: "the language model rejected the server's credentials",
  internal: 'internal error',
} as const satisfies Partial<Record<ErrorKind | 'rejected', string>>;

/** The kinds an upstream failure can have; `rejected` becomes a non-retryable `unavailable`. */
export type UpstreamKind = keyof typeof SAFE_MESSAGES;


/**
 * The kind of an HTTP error status from a model API. No status means an error reported inside an
 * already-open stream, i.e. the model failed mid-answer.
 */
export function kindOfHttpStatus(status: number | undefined): UpstreamKind {
  if (status === undefined) return 'unavailable';
  if (status === 429) return 'limit';
  if (status === 401 || status === 403) return 'rejected';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'unavailable';
  // 400, 404, 422 and the rest: our request or our configuration (model name, URL) is wrong.
  return 'internal';
}


/** An AppError of `kind` with its safe message; `cause` keeps the upstream detail for the log. */
export function upstreamError(kind: UpstreamKind, cause: unknown): AppError {
  if (kind === 'rejected') return new AppError('unavailable', SAFE_MESSAGES.rejected, { cause, retryable: false });
  return new AppError(kind, SAFE_MESSAGES[kind], { cause });
}

/** The timeout a provider's own first-token or total timer aborts its upstream request with. */
export function upstreamTimeout(detail: string): AppError {
  return new AppError('timeout', SAFE_MESSAGES.timeout, { cause: new Error(detail) });
}
