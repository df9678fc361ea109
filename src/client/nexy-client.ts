import { setTimeout as delay } from 'node:timers/promises';
import {
  credentials,
  Metadata,
  status,
  type CallOptions,
  type ChannelCredentials,
  type ClientOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  StreamingServiceClient,
  type InterruptResponse,
  type StreamRequest,
  type UsageRequest,
  type UsageResponse,
  type WelcomeRequest,
} from '../gen/streaming.js';
import { onAbort } from '../errors.js';
import { COLLECT_OK, SESSION_ID_METADATA_KEY } from '../protocol/wire.js';
import type { GateTransport } from './collect-commit-gate.js';
import { toNexyEvent, toWelcomeEvent, type NexyEvent, type WelcomeEvent } from './events.js';


/** Retries of unary calls; streams are never retried (a turn must not run twice). */
export interface RetryPolicy {
  /** Attempts in all, the first included; 1 turns retries off. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
}

export interface NexyClientOptions {
  /** `host:port`, or any gRPC target (`dns:///host:port`, `unix:/path`). */
  readonly address: string;
  /** Plaintext when absent or false; true: TLS with the system's roots; or TLS with these roots. */
  readonly tls?: boolean | { readonly rootCerts?: Buffer };
  /** Sent on every call as `authorization: Bearer <token>`. */
  readonly authToken?: string;
  /** Sent on every call (per-call metadata is added to it). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** HTTP/2 keepalive pings: how often, and how long to wait for the answer. Off when absent. */
  readonly keepaliveTimeMs?: number;
  readonly keepaliveTimeoutMs?: number;
  /** Deadline of unary calls when the call gives none; none when absent. */
  readonly unaryDeadlineMs?: number;
  /** Retries of unary calls on UNAVAILABLE (the server was not reached); none when absent. */
  readonly retry?: RetryPolicy;
  /** Largest message accepted from the server; grpc-js's default (4 MiB) when absent. */
  readonly maxReceiveMessageBytes?: number;
}

export interface CallSettings {
  /** Aborting cancels the call on the server. */
  readonly signal?: AbortSignal;
  /** Deadline of this call in milliseconds. */
  readonly deadlineMs?: number;
  /** Extra metadata for this call. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * A failed call: the gRPC status `code` (see `status` of @grpc/grpc-js) and a readable message:
 * the server's `error_message` when it sent one, else the status details.
 */
export class NexyClientError extends Error {
  readonly code: status;
  /** True when `message` is the server's own `error_message`, false for gRPC's status details. */
  readonly fromServer: boolean;
  constructor(code: status, message: string, options?: { cause?: unknown; fromServer?: boolean }) {
    super(message, options);
    this.name = 'NexyClientError';
    this.code = code;
    this.fromServer = options?.fromServer ?? false;
  }

  /** The status name, e.g. `UNAVAILABLE`. */
  get codeName(): string {
    return status[this.code] ?? String(this.code);
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number';
}

function toClientError(error: unknown, signal: AbortSignal | undefined, serverMessage?: string): NexyClientError {
  if (error instanceof NexyClientError) return error;
  if (signal?.aborted) return new NexyClientError(status.CANCELLED, 'cancelled by the client', { cause: error });
  if (isServiceError(error)) {
    const details = (error.details || status[error.code] || 'call failed').split('\n')[0];
    return new NexyClientError(error.code, serverMessage ?? details, { cause: error, fromServer: serverMessage !== undefined });
  }
  return new NexyClientError(status.UNKNOWN, error instanceof Error ? error.message : String(error), { cause: error });
}

/** A server stream as an async iterable of typed events. Iterate it once. */
export interface NexyStream<E> extends AsyncIterable<E> {
  /** The `x-session-id` of the initial metadata; undefined when the server sent none. */
  readonly sessionId: Promise<string | undefined>;
  /** Cancels the call; the iteration then throws NexyClientError(CANCELLED). */
  cancel(): void;
}

class EventStream<M, E extends { type: string }> implements NexyStream<E> {
  readonly sessionId: Promise<string | undefined>;
  readonly #call: ClientReadableStream<M>;
  readonly #convert: (message: M) => E | undefined;
  readonly #signal: AbortSignal | undefined;
  #iterated = false;

  constructor(call: ClientReadableStream<M>, convert: (message: M) => E | undefined, signal: AbortSignal | undefined) {
    this.#call = call;
    this.#convert = convert;
    this.#signal = signal;
    this.sessionId = new Promise((resolve) => {
      call.once('metadata', (metadata: Metadata) => {
        const value = metadata.get(SESSION_ID_METADATA_KEY)[0];
        resolve(value === undefined ? undefined : String(value));
      });
      // No metadata at all (connection refused, cancelled early): nothing will come.
      call.once('status', () => resolve(undefined));
      call.once('error', () => resolve(undefined));
    });
    // Let go of the caller's signal when the call ends: one signal may serve many calls.
    if (signal) call.once('status', onAbort(signal, () => call.cancel()));
  }

  cancel(): void {
    this.#call.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<E> {
    if (this.#iterated) throw new Error('a NexyStream can be iterated only once');
    this.#iterated = true;
    let serverMessage: string | undefined;
    try {
      for await (const message of this.#call as AsyncIterable<M>) {
        const event = this.#convert(message);
        if (!event) continue;
        if (event.type === 'error') serverMessage = (event as unknown as { message: string }).message;
        yield event;
      }
    } catch (error) {
      throw toClientError(error, this.#signal, serverMessage);
    } finally {
      // Also when the consumer stops early: the server must not go on working for nobody.
      this.#call.cancel();
    }
    if (this.#signal?.aborted) throw new NexyClientError(status.CANCELLED, 'cancelled by the client');
  }
}

/** Typed client of a Nexy server, over @grpc/grpc-js. */
export class NexyClient {
  readonly #stub: StreamingServiceClient;
  readonly #options: NexyClientOptions;

  constructor(options: NexyClientOptions) {
    this.#options = options;
    const channelOptions: Partial<ClientOptions> = {};
    if (options.keepaliveTimeMs !== undefined) channelOptions['grpc.keepalive_time_ms'] = options.keepaliveTimeMs;
    if (options.keepaliveTimeoutMs !== undefined) channelOptions['grpc.keepalive_timeout_ms'] = options.keepaliveTimeoutMs;
    if (options.maxReceiveMessageBytes !== undefined) channelOptions['grpc.max_receive_message_length'] = options.maxReceiveMessageBytes;
    this.#stub = new StreamingServiceClient(options.address, channelCredentials(options.tls), channelOptions);
  }

  /** The server's address, as given. */
  get address(): string {
    return this.#options.address;
  }

  /**
   * StreamAudio: one COLLECT or COMMIT. Yields text, audio, action, end and error events; a
   * non-OK status is thrown as NexyClientError after the events that preceded it.
   */
  streamAudio(request: StreamRequest, settings: CallSettings = {}): NexyStream<NexyEvent> {
    const call = this.#stub.streamAudio(request, this.#metadata(settings), this.#callOptions(settings.deadlineMs));
    return new EventStream(call, toNexyEvent, settings.signal);
  }

  /**
   * One COLLECT: resolves on `collect_ok`. Reads only up to the first end or error message, as
   * deployed clients do, and then lets the call go.
   */
  async collect(request: StreamRequest, settings: CallSettings = {}): Promise<void> {
    for await (const event of this.streamAudio(request, settings)) {
      if (event.type === 'end') {
        if (event.message === COLLECT_OK) return;
        throw new NexyClientError(status.UNKNOWN, `unexpected end message ${JSON.stringify(event.message)} to a COLLECT`);
      }
    }
    throw new NexyClientError(status.UNKNOWN, 'the COLLECT stream ended without collect_ok');
  }

  /** GenerateWelcomeAudio: yields metadata, audio, end and error events. */
  welcome(request: Partial<WelcomeRequest> = {}, settings: CallSettings = {}): NexyStream<WelcomeEvent> {
    const full: WelcomeRequest = { text: '', sessionId: '', voice: '', language: '', ...request };
    const call = this.#stub.generateWelcomeAudio(full, this.#metadata(settings), this.#callOptions(settings.deadlineMs));
    return new EventStream(call, toWelcomeEvent, settings.signal);
  }

  /** InterruptSession: stops every active answer of the hardware id. Retried on UNAVAILABLE. */
  interrupt(hardwareId: string, settings: CallSettings = {}): Promise<InterruptResponse> {
    return this.#unary<InterruptResponse>(settings, (metadata, options, done) =>
      this.#stub.interruptSession({ hardwareId }, metadata, options, done),
    );
  }

  /** ReportUsage: token counts of a turn. Retried on UNAVAILABLE. */
  reportUsage(request: UsageRequest, settings: CallSettings = {}): Promise<UsageResponse> {
    return this.#unary<UsageResponse>(settings, (metadata, options, done) => this.#stub.reportUsage(request, metadata, options, done));
  }

  /** Closes the channel; calls in progress are cancelled. */
  close(): void {
    this.#stub.close();
  }

  #metadata(settings: CallSettings): Metadata {
    const metadata = new Metadata();
    for (const [key, value] of Object.entries({ ...this.#options.metadata, ...settings.metadata })) metadata.set(key, value);
    if (this.#options.authToken) metadata.set('authorization', `Bearer ${this.#options.authToken}`);
    return metadata;
  }

  #callOptions(deadlineMs: number | undefined, deadlineAt?: number): Partial<CallOptions> {
    if (deadlineAt !== undefined) return { deadline: deadlineAt };
    return deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  }

  async #unary<R>(
    settings: CallSettings,
    start: (metadata: Metadata, options: Partial<CallOptions>, done: (error: ServiceError | null, response: R) => void) => ClientUnaryCall,
  ): Promise<R> {
    const { signal } = settings;
    const deadlineMs = settings.deadlineMs ?? this.#options.unaryDeadlineMs;
    // One deadline for all attempts: the caller's time budget does not grow with retries.
    const deadlineAt = deadlineMs === undefined ? undefined : Date.now() + deadlineMs;
    const retry = this.#options.retry;
    const maxAttempts = Math.max(1, retry?.maxAttempts ?? 1);
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Promise<R>((resolve, reject) => {
          if (signal?.aborted) return reject(signal.reason);
          let unlink = (): void => undefined;
          const call = start(this.#metadata(settings), this.#callOptions(undefined, deadlineAt), (error, response) => {
            unlink();
            if (error) reject(error);
            else resolve(response);
          });
          if (signal) unlink = onAbort(signal, () => call.cancel());
        });
      } catch (error) {
        const retryable = isServiceError(error) && error.code === status.UNAVAILABLE && retry !== undefined;
        const backoffMs = retry ? backoff(retry, attempt) : 0;
        const timeLeft = deadlineAt === undefined ? Infinity : deadlineAt - Date.now();
        if (!retryable || attempt >= maxAttempts || signal?.aborted || backoffMs >= timeLeft) throw toClientError(error, signal);
        try {
          await delay(backoffMs, undefined, { signal });
        } catch {
          throw toClientError(error, signal);
        }
      }
    }
  }
}

/** Exponential backoff with "equal jitter": at least half the step, so retries never bunch up at 0. */
function backoff(policy: RetryPolicy, attempt: number): number {
  const step = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.backoffMultiplier ** (attempt - 1));
  return step / 2 + Math.random() * (step / 2);
}

function channelCredentials(tls: NexyClientOptions['tls']): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  return credentials.createSsl(tls.rootCerts ?? null);
}

/** The gate's wire: COLLECT through `collect`, COMMIT as a stream, cancel through InterruptSession. */
export function gateTransport(client: NexyClient, settings: { interruptDeadlineMs?: number } = {}): GateTransport<NexyStream<NexyEvent>> {
  return {
    collect: (request, options) => client.collect(request, options),
    commit: (request, signal) => client.streamAudio(request, { signal }),
    interrupt: (hardwareId) => client.interrupt(hardwareId, { deadlineMs: settings.interruptDeadlineMs }),
  };
}
