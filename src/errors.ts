/**
 * One error type for the whole server. `kind` decides the gRPC status (src/grpc/status-map.ts is
 * the only place that maps it); `message` is safe to show a client; `cause` stays in the log.
 */
export const errorKinds = [
  'bad_input',
  'conflict',
  'limit',
  'unavailable',
  'timeout',
  'denied',
  'unauthenticated',
  'interrupted',
  'internal',
] as const;

export type ErrorKind = (typeof errorKinds)[number];

const retryableKinds: ReadonlySet<ErrorKind> = new Set(['unavailable', 'timeout', 'limit']);

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly retryable: boolean;

  constructor(kind: ErrorKind, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.retryable = options.retryable ?? retryableKinds.has(kind);
  }
}

/** The abort reason of an InterruptSession; the handler ends such streams with CANCELLED. */
export class InterruptedError extends AppError {
  constructor(message = 'interrupted') {
    super('interrupted', message);
    this.name = 'InterruptedError';
  }
}

/** True for anything that means "this work was aborted": DOM AbortError, an abort reason, an SDK's abort. */
export function isAbort(error: unknown): boolean {
  if (error instanceof AppError) return error.kind === 'interrupted';
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  return name === 'AbortError' || name === 'APIUserAbortError';
}

/**
 * Turns whatever was thrown into an AppError. A signal that was aborted wins: its reason says why
 * the work stopped (interrupt, client cancel, deadline, shutdown), whatever the throw site saw.
 */
export function toAppError(error: unknown, signal?: AbortSignal): AppError {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof AppError) return reason;
    return new AppError('interrupted', 'interrupted', { cause: reason });
  }
  if (error instanceof AppError) return error;
  if (isAbort(error)) return new AppError('interrupted', 'interrupted', { cause: error });
  return new AppError('internal', 'internal error', { cause: error });
}

/** Throws the signal's reason as an AppError when it is aborted. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw toAppError(signal.reason, signal);
}

/**
 * Runs `listener` once with the signal's reason when `signal` aborts, at once if it already has.
 * The one way a piece of work follows an outer cancellation: `onAbort(parent, (reason) =>
 * child.abort(reason))` links a child controller. Returns the function that removes the listener;
 * call it in `finally`, or a long-lived signal (a server's, a worker's) keeps one per call.
 */
export function onAbort(signal: AbortSignal, listener: (reason: unknown) => void): () => void {
  if (signal.aborted) {
    listener(signal.reason);
    return () => undefined;
  }
  const handler = (): void => listener(signal.reason);
  signal.addEventListener('abort', handler, { once: true });
  return () => signal.removeEventListener('abort', handler);
}

/** Error codes of Node and undici that mean a connection failed or broke. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * True when `error` or one of its causes says a connection to an upstream service failed, was
 * reset or was cut short. Shared by every network provider (models and speech engines).
 */
export function isNetworkFailure(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; typeof e === 'object' && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_ERROR_CODES.has(code) || code.startsWith('UND_ERR_'))) return true;
    // undici's fetch: "fetch failed" on connect, "terminated" for a body cut short.
    if (e instanceof TypeError && (e.message === 'terminated' || e.message === 'fetch failed')) return true;
  }
  return false;
}

/**
 * A service the server depends on (Redis, PostgreSQL) cannot be reached at start-up. `url` is
 * already masked (no password); the start-up path logs one line from these fields.
 */
export class ServiceUnreachableError extends AppError {
  readonly service: string;
  readonly url: string;

  constructor(service: string, url: string, cause: unknown) {
    super('unavailable', `${service} unreachable at ${url}`, { cause });
    this.name = 'ServiceUnreachableError';
    this.service = service;
    this.url = url;
  }
}
