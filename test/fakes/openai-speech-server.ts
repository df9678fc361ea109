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
import type { ServerResponse } from 'node:http';
import { openAiErrorBody } from './openai-server.js';
import { parseJson, pause, sendJson, startRecordingHttp, stoppedBefore, writeFlushed, type ExchangeOutcome, type RecordedRequest, type RecordingHttp, type RecordingHttpOptions } from './recording-http.js';

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
export type FakeSpeechOutcome = ExchangeOutcome;

/** The JSON body the provider sends. */
export interface FakeSpeechBody {
  readonly model?: string;
  readonly input?: string;
  readonly voice?: string;
  readonly response_format?: string;
  readonly speed?: number;
}

export interface FakeSpeechRequest extends RecordedRequest {
  readonly body: FakeSpeechBody | undefined;
}

/** A running fake; `url` is the base URL for the provider: `http://127.0.0.1:PORT/v1`. */
export type FakeOpenAiSpeech = RecordingHttp<FakeSpeechScript, FakeSpeechRequest>;

export const FAKE_SPEECH_RATE = 24000;
export const FAKE_SPEECH_SECONDS = 0.5;

/** A 440 Hz tone, loud enough to survive silence trimming. */
export function fakeSpeechAudio(seconds = FAKE_SPEECH_SECONDS, rate = FAKE_SPEECH_RATE): Int16Array {
  return Int16Array.from({ length: Math.round(seconds * rate) }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)));
}

const SPEECH_PATH = '/v1/audio/speech';
const DEFAULT_PIECE_BYTES = 4800;

export function startFakeOpenAiSpeech(initial: FakeSpeechScript = {}): Promise<FakeOpenAiSpeech> {
  return startRecordingHttp<FakeSpeechScript, FakeSpeechRequest>({
    initial,
    basePath: '/v1',
    record: (_req, body) => ({ body: parseJson(body) as FakeSpeechBody | undefined }),
    respond,
  });
}

const respond: RecordingHttpOptions<FakeSpeechScript, FakeSpeechRequest>['respond'] = async (record, script, res, signal, markDropping) => {
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
  const stops = { hangAfter: script.hangAfterPieces, dropAfter: script.dropAfterPieces };
  const pieces = Math.ceil(bytes.length / size);
  for (let index = 0; index <= pieces; index += 1) {
    if (await stoppedBefore(stops, index, pieces, res, markDropping)) return;
    if (index === pieces) break;
    if (index > 0) await pause(script.pieceDelayMs, signal);
    await writeFlushed(res, bytes.subarray(index * size, (index + 1) * size));
  }
  res.end();
};

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, openAiErrorBody(status, message));
}
