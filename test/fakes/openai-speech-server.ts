/**
 * A local fake of an OpenAI-compatible speech server, for tests: `POST /v1/audio/speech` answers
 * with raw 16-bit little-endian mono PCM (`response_format: pcm`), streamed in pieces, the way
 * OpenAI, Kokoro-FastAPI and Piper HTTP servers do. It records every request and how each
 * exchange ended, and can be scripted to fail with a status, hang, or drop the connection.
 *
 * ```ts
 * const fake = await startFakeOpenAiSpeech();
 * fake.script({ error: { status: 500 } });
 * // point the provider (or the whole server's config) at fake.url
 * assert.equal(fake.requests[0].body?.voice, 'alloy');
 * await fake.waitForClose(); // the client closed the request early
 * await fake.close();
 * ```
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** How the fake answers one request. `{}` is a quick, healthy answer. */
export interface FakeSpeechScript {
  /** The audio sent. Default: a tone of {@link FAKE_SPEECH_SECONDS} at {@link FAKE_SPEECH_RATE}. */
  readonly audio?: Int16Array;
  /** Bytes per body piece; odd sizes split samples across pieces. Default 4800. */
  readonly pieceBytes?: number;
  /** Wait between body pieces. */
  readonly pieceDelayMs?: number;
  /** Answer with this status and an OpenAI-style JSON error instead of audio. */
  readonly error?: { readonly status: number; readonly message?: string };
  /** The content-type of a healthy answer. Default `audio/pcm`. */
  readonly contentType?: string;
  /** Never send the status line: the request hangs until the client gives up. */
  readonly hangBeforeHeaders?: boolean;
  /** Send headers and this many pieces, then hang (0: headers only). */
  readonly hangAfterPieces?: number;
  /** Send this many pieces, then destroy the socket (a connection reset mid-stream). */
  readonly dropAfterPieces?: number;
}

/** How one exchange ended. */
export type FakeSpeechOutcome = 'completed' | 'client-closed' | 'server-dropped';

/** The JSON body the provider sends. */
export interface FakeSpeechBody {
  readonly model?: string;
  readonly input?: string;
  readonly voice?: string;
  readonly response_format?: string;
  readonly speed?: number;
}

export interface FakeSpeechRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: FakeSpeechBody | undefined;
  /** Undefined while the exchange is in progress. */
  readonly outcome: FakeSpeechOutcome | undefined;
  readonly ended: Promise<FakeSpeechOutcome>;
}

export interface FakeOpenAiSpeech {
  /** Base URL for the provider: `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  readonly requests: readonly FakeSpeechRequest[];
  /** How every following request is answered (until changed). */
  script(script: FakeSpeechScript): void;
  /** A one-off script for the next request; queued scripts go before the default. */
  enqueue(script: FakeSpeechScript): void;
  /** Resolves with request `index` (0-based) once it has arrived. */
  waitForRequest(index?: number): Promise<FakeSpeechRequest>;
  /** Resolves when request `index` (default: the latest) was closed by the client early; rejects otherwise. */
  waitForClose(index?: number): Promise<void>;
  close(): Promise<void>;
}

export const FAKE_SPEECH_RATE = 24000;
export const FAKE_SPEECH_SECONDS = 0.5;

/** A 440 Hz tone, loud enough to survive silence trimming. */
export function fakeSpeechAudio(seconds = FAKE_SPEECH_SECONDS, rate = FAKE_SPEECH_RATE): Int16Array {
  return Int16Array.from({ length: Math.round(seconds * rate) }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)));
}

const SPEECH_PATH = '/v1/audio/speech';
const DEFAULT_PIECE_BYTES = 4800;

interface MutableRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: FakeSpeechBody | undefined;
  outcome: FakeSpeechOutcome | undefined;
  ended: Promise<FakeSpeechOutcome>;
}

export async function startFakeOpenAiSpeech(initial: FakeSpeechScript = {}): Promise<FakeOpenAiSpeech> {
  let defaultScript = initial;
  const queue: FakeSpeechScript[] = [];
  const requests: MutableRequest[] = [];
  let arrivalWaiters: Array<() => void> = [];

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gone = new AbortController();
    let dropping = false;
    let resolveEnded!: (outcome: FakeSpeechOutcome) => void;
    const record: MutableRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: undefined,
      outcome: undefined,
      ended: new Promise((resolve) => (resolveEnded = resolve)),
    };
    const finish = (outcome: FakeSpeechOutcome): void => {
      if (record.outcome !== undefined) return;
      record.outcome = outcome;
      resolveEnded(outcome);
    };
    res.on('finish', () => finish('completed'));
    res.on('close', () => {
      gone.abort();
      finish(dropping ? 'server-dropped' : 'client-closed');
    });
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    try {
      record.body = JSON.parse(Buffer.concat(parts).toString('utf8')) as FakeSpeechBody;
    } catch {
      record.body = undefined;
    }
    requests.push(record);
    const waiters = arrivalWaiters;
    arrivalWaiters = [];
    for (const wake of waiters) wake();
    const script = queue.shift() ?? defaultScript;
    try {
      await respond(record, script, res, gone.signal, () => (dropping = true));
    } catch (error) {
      if (!gone.signal.aborted) throw error;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const waitForRequest = async (index = 0): Promise<FakeSpeechRequest> => {
    while (requests.length <= index) await new Promise<void>((wake) => arrivalWaiters.push(wake));
    return requests[index]!;
  };

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    script(script) {
      defaultScript = script;
    },
    enqueue(script) {
      queue.push(script);
    },
    waitForRequest,
    async waitForClose(index) {
      const request = await waitForRequest(index ?? Math.max(requests.length - 1, 0));
      const outcome = await request.ended;
      if (outcome !== 'client-closed') throw new Error(`expected the client to close ${request.path} early; it ended as ${outcome}`);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function respond(record: MutableRequest, script: FakeSpeechScript, res: ServerResponse, signal: AbortSignal, markDropping: () => void): Promise<void> {
  if (script.hangBeforeHeaders) return;
  if (record.method !== 'POST' || record.path !== SPEECH_PATH) return sendError(res, 404, `no route ${record.method} ${record.path}`);
  const body = record.body;
  if (body === undefined || typeof body.input !== 'string' || typeof body.voice !== 'string' || typeof body.model !== 'string') {
    return sendError(res, 400, 'model, input and voice are required');
  }
  if (script.error) return sendError(res, script.error.status, script.error.message ?? `fake speech error ${script.error.status}: do not show this to users`);

  const audio = script.audio ?? fakeSpeechAudio();
  const bytes = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength);
  const size = script.pieceBytes ?? DEFAULT_PIECE_BYTES;
  res.writeHead(200, { 'content-type': script.contentType ?? 'audio/pcm', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  let index = 0;
  for (let offset = 0; offset < bytes.length; offset += size, index++) {
    if (script.hangAfterPieces === index) return;
    if (script.dropAfterPieces === index) return drop(res, markDropping);
    if (index > 0 && script.pieceDelayMs) await delay(script.pieceDelayMs, undefined, { signal });
    await write(res, bytes.subarray(offset, offset + size));
  }
  if (script.hangAfterPieces !== undefined && script.hangAfterPieces >= index) return;
  if (script.dropAfterPieces !== undefined && script.dropAfterPieces >= index) return drop(res, markDropping);
  res.end();
}

function sendError(res: ServerResponse, status: number, message: string): void {
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type, param: null, code: null } }));
}

/** Resolves once the bytes are handed to the kernel, so a following drop cannot discard them. */
function write(res: ServerResponse, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(bytes, () => resolve());
  });
}

function drop(res: ServerResponse, markDropping: () => void): void {
  markDropping();
  res.socket?.destroy();
}
