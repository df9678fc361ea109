/**
 * What every network fake in this folder shares: a script book (a default script and one-off
 * scripts queued before it), a log of the exchanges received with how each ended, waiting for an
 * exchange to arrive or to be closed early by the client, and — for the HTTP fakes — the server
 * lifecycle and the small response helpers (JSON, server-sent events, pauses that stop when the
 * client goes away, a deliberate connection drop).
 *
 * A fake supplies only its wire format: how to record a request and how to answer it.
 *
 * ```ts
 * const base = await startRecordingHttp<MyScript, MyRequest>({
 *   initial, basePath: '/v1',
 *   record: (req, body) => ({ body: parseJson(body) as MyBody | undefined }),
 *   respond: async (exchange, script, res, signal, markDropping) => sendJson(res, 200, { ok: true }),
 * });
 * ```
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** How one exchange ended: sent in full, closed early by the client, or dropped by the fake on purpose. */
export type ExchangeOutcome = 'completed' | 'client-closed' | 'server-dropped';

/** The end of an exchange as a record shows it. */
export interface Ending {
  /** Undefined while the exchange is in progress. */
  outcome: ExchangeOutcome | undefined;
  /** Resolves when the exchange ends. */
  readonly ended: Promise<ExchangeOutcome>;
}

/** `fields` with an {@link Ending}, and the one way to settle it (the first outcome wins). */
export function withEnding<T extends object>(fields: T): { record: T & Ending; finish: (outcome: ExchangeOutcome) => void } {
  let resolveEnded!: (outcome: ExchangeOutcome) => void;
  const record = Object.assign(fields, {
    outcome: undefined as ExchangeOutcome | undefined,
    ended: new Promise<ExchangeOutcome>((resolve) => (resolveEnded = resolve)),
  });
  const finish = (outcome: ExchangeOutcome): void => {
    if (record.outcome !== undefined) return;
    record.outcome = outcome;
    resolveEnded(outcome);
  };
  return { record, finish };
}

/**
 * The scripts and the exchanges of one fake. `ready(record)` says when a record counts as arrived
 * for {@link waitFor} (default: as soon as it is logged); call {@link wake} when it may have changed.
 */
export class ExchangeLog<S, R extends Ending & { readonly path: string }> {
  #default: S;
  #queue: S[] = [];
  #records: R[] = [];
  #waiters: Array<() => void> = [];

  constructor(
    private readonly initial: S,
    private readonly ready: (record: R) => boolean = () => true,
  ) {
    this.#default = initial;
  }

  /** Every exchange so far, in arrival order (a new array after {@link reset}). */
  get records(): readonly R[] {
    return this.#records;
  }

  /** Sets how every following exchange is answered (until changed). */
  script(script: S): void {
    this.#default = script;
  }

  /** Queues a one-off script for the next exchange; queued scripts are used before the default. */
  enqueue(script: S): void {
    this.#queue.push(script);
  }

  /** The script for the exchange that just arrived. */
  next(): S {
    return this.#queue.shift() ?? this.#default;
  }

  /** Forgets recorded exchanges and queued scripts, and restores the initial script. */
  reset(): void {
    this.#records = [];
    this.#queue = [];
    this.#default = this.initial;
  }

  push(record: R): void {
    this.#records.push(record);
    // An ended exchange is ready whatever else the fake waits for.
    void record.ended.then(() => this.wake());
    this.wake();
  }

  /** Re-checks every waiter (a record became ready). */
  wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves with exchange number `index` (0-based) once it has arrived and is ready. */
  async waitFor(index = 0): Promise<R> {
    const ready = (): boolean => this.#records[index] !== undefined && this.ready(this.#records[index]);
    while (!ready()) await new Promise<void>((wake) => this.#waiters.push(wake));
    return this.#records[index]!;
  }

  /**
   * Resolves when exchange `index` (default: the latest one, or the first if none arrived yet)
   * was closed by the client before it was complete; rejects if it ended otherwise.
   */
  async waitForClose(index?: number): Promise<void> {
    const record = await this.waitFor(index ?? Math.max(this.#records.length - 1, 0));
    const outcome = await record.ended;
    if (outcome !== 'client-closed') {
      throw new Error(`expected the client to close ${record.path} early; it ended as ${outcome}`);
    }
  }
}

/** What the HTTP base records of every request; a fake adds its own fields (`body`, …). */
export interface RecordedRequest extends Ending {
  readonly method: string;
  /** Path with query, e.g. `/v1/chat/completions`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/** The public face shared by the HTTP fakes. */
export interface RecordingHttp<S, R extends RecordedRequest> {
  /** `http://127.0.0.1:PORT` followed by the fake's base path. */
  readonly url: string;
  /** Every request received so far, in arrival order. */
  readonly requests: readonly R[];
  /** Sets how every following request is answered (until changed). */
  script(script: S): void;
  /** Queues a one-off script for the next request; queued scripts are used before the default. */
  enqueue(script: S): void;
  /** Forgets recorded requests and queued scripts, and restores the default script. */
  reset(): void;
  /** Resolves with request number `index` (0-based) once it has arrived. */
  waitForRequest(index?: number): Promise<R>;
  /**
   * Resolves when request `index` (default: the latest one, or the first if none arrived yet)
   * was closed by the client before its response was complete; rejects if it ended otherwise.
   */
  waitForClose(index?: number): Promise<void>;
  /** Stops listening and closes every open connection, hung ones included. */
  close(): Promise<void>;
}

/** Script keys the base obeys before the fake's own `respond` runs. */
export interface HeaderTiming {
  /** Never send the status line: the request hangs until the client gives up. */
  readonly hangBeforeHeaders?: boolean;
  /** Wait before sending the status line and headers. */
  readonly headersDelayMs?: number;
}

export interface RecordingHttpOptions<S extends HeaderTiming, R extends RecordedRequest> {
  readonly initial: S;
  /** Appended to the origin in `url`, e.g. `/v1`. */
  readonly basePath?: string;
  /** The fake's own fields of a request record, from the request and its body text. */
  record(req: IncomingMessage, body: string): Omit<R, keyof RecordedRequest>;
  /**
   * Answers one request, once `hangBeforeHeaders` and `headersDelayMs` are dealt with. `signal`
   * aborts when the connection closes; call `markDropping` just before destroying the socket on
   * purpose (see {@link drop}).
   */
  respond(request: R, script: S, res: ServerResponse, signal: AbortSignal, markDropping: () => void): Promise<void> | void;
  /** Answers when `respond` throws (a bug in the fake must fail the test, not hang it). Default: destroy. */
  onBug?(res: ServerResponse, error: unknown): void;
}

/** Starts an HTTP fake on 127.0.0.1 with an ephemeral port. */
export async function startRecordingHttp<S extends HeaderTiming, R extends RecordedRequest>(options: RecordingHttpOptions<S, R>): Promise<RecordingHttp<S, R>> {
  const log = new ExchangeLog<S, R>(options.initial);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (options.onBug && !res.headersSent) options.onBug(res, error);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gone = new AbortController();
    let dropping = false;
    const { record, finish } = withEnding({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    res.on('finish', () => finish('completed'));
    res.on('close', () => {
      gone.abort();
      finish(dropping ? 'server-dropped' : 'client-closed');
    });

    let body: string;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away while sending the body
    }
    const request = Object.assign(record, options.record(req, body)) as unknown as R;
    log.push(request);
    const script = log.next();
    if (script.hangBeforeHeaders) return;
    try {
      await pause(script.headersDelayMs, gone.signal);
      await options.respond(request, script, res, gone.signal, () => (dropping = true));
    } catch (error) {
      // The connection went away while the script was waiting or writing: nothing left to do.
      if (!gone.signal.aborted) throw error;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${options.basePath ?? ''}`,
    get requests() {
      return log.records;
    },
    script: (script) => log.script(script),
    enqueue: (script) => log.enqueue(script),
    reset: () => log.reset(),
    waitForRequest: (index) => log.waitFor(index),
    waitForClose: (index) => log.waitForClose(index),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Where a scripted stream stops instead of sending piece `index` of `total`. */
export interface StopPoints {
  /** Send this many pieces, then hang. */
  readonly hangAfter?: number;
  /** Send this many pieces, then drop the connection. */
  readonly dropAfter?: number;
  /** Send this many pieces, then end with an in-stream error. */
  readonly errorAfter?: number;
}

/**
 * What a stream does before piece `index` (`index === total`: after the last one): `hang`,
 * `drop`, `error`, or undefined to go on. A stop point past the end stops after the last piece.
 */
export function stopBefore(points: StopPoints, index: number, total: number): 'hang' | 'drop' | 'error' | undefined {
  const at = (point: number | undefined): boolean => point !== undefined && (point === index || (index === total && point >= total));
  if (at(points.hangAfter)) return 'hang';
  if (at(points.dropAfter)) return 'drop';
  if (at(points.errorAfter)) return 'error';
  return undefined;
}

/**
 * Carries out the stop due before piece `index` (see {@link stopBefore}): hangs, drops the
 * connection, or sends the in-stream error with `sendError`. True when the stream ends there.
 */
export async function stoppedBefore(
  points: StopPoints,
  index: number,
  total: number,
  res: ServerResponse,
  markDropping: () => void,
  sendError?: () => Promise<void>,
): Promise<boolean> {
  const stop = stopBefore(points, index, total);
  if (stop === 'drop') drop(res, markDropping);
  else if (stop === 'error') await sendError?.();
  return stop !== undefined;
}

/** The pieces a streamed reply is sent in: `chunks` as given, `reply` cut every `chunkChars` characters, or word by word. */
export function replyChunks(script: { readonly chunks?: readonly string[]; readonly reply?: string; readonly chunkChars?: number }, defaultReply: string): string[] {
  if (script.chunks) return [...script.chunks];
  const reply = script.reply ?? defaultReply;
  if (script.chunkChars !== undefined && script.chunkChars > 0) {
    const chars = Array.from(reply);
    const out: string[] = [];
    for (let i = 0; i < chars.length; i += script.chunkChars) out.push(chars.slice(i, i + script.chunkChars).join(''));
    return out;
  }
  return reply.match(/\s*\S+/gu) ?? (reply ? [reply] : []);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Resolves once the bytes are handed to the kernel, so that a following drop cannot discard them. */
export function writeFlushed(res: ServerResponse, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(data, () => resolve());
  });
}

/** One server-sent event `data: JSON`, ended by `eol` twice (`\n` for OpenAI, `\r\n` for Google). */
export function sendEvent(res: ServerResponse, data: object, eol: '\n' | '\r\n' = '\n'): Promise<void> {
  return writeFlushed(res, `data: ${JSON.stringify(data)}${eol}${eol}`);
}

/** Destroys the socket on purpose: the exchange ends as `server-dropped`. */
export function drop(res: ServerResponse, markDropping: () => void): void {
  markDropping();
  res.socket?.destroy();
}

/** Waits `ms` (if any); throws as soon as the connection is gone. */
export async function pause(ms: number | undefined, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (ms !== undefined && ms > 0) await delay(ms, undefined, { signal });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/** The JSON value of a body; undefined when it is empty or not JSON. */
export function parseJson(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
