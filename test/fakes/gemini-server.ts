/**
 * A local fake of the Gemini API's streaming REST endpoint, for tests. It speaks the real wire
 * format of `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` (API key in
 * `x-goog-api-key`; each event a `data: {GenerateContentResponse}` line ended by `\r\n\r\n`, as
 * Google's servers send them), records what clients sent and how each exchange ended, and can be
 * scripted per test to be slow, fail with an HTTP status and a Google error body, hang, drop the
 * connection mid-stream, block for safety, call functions or leave out usage.
 *
 * ```ts
 * const fake = await startFakeGemini();
 * fake.script({ reply: 'Hello there.', chunkDelayMs: 5 });
 * // point the provider (or the whole server's config) at fake.url
 * assert.equal(fake.requests[0].model, 'test-model');
 * await fake.waitForClose(); // the client closed the upstream request early
 * await fake.close();
 * ```
 */
import type { ServerResponse } from 'node:http';
import type { Content, Tool } from '@google/genai';
import { parseJson, pause, replyChunks, sendEvent as sendSseEvent, sendJson as sendJsonWith, startRecordingHttp, stoppedBefore, type ExchangeOutcome, type RecordedRequest, type RecordingHttp, type RecordingHttpOptions } from './recording-http.js';

/** How the fake answers one request. Every field is optional; `{}` is a quick, healthy reply. */
export interface FakeGeminiScript {
  /** The reply text. Default: {@link DEFAULT_FAKE_GEMINI_REPLY}. */
  readonly reply?: string;
  /** Explicit text chunks (one text part each); wins over `reply`/`chunkChars`. */
  readonly chunks?: readonly string[];
  /** Cut `reply` into chunks of this many characters. Default: word by word. */
  readonly chunkChars?: number;
  /** Function calls the model makes, sent as one chunk of `functionCall` parts after the text. */
  readonly functionCalls?: ReadonlyArray<{ readonly name: string; readonly args: Readonly<Record<string, unknown>> }>;
  /** `modelVersion` of the answer. Default: the model named in the path. */
  readonly modelVersion?: string;
  /** `finishReason` of the last chunk. Default `STOP`. */
  readonly finishReason?: string;
  /**
   * A safety block. `prompt`: the only event is `promptFeedback.blockReason` (no candidates), as
   * when the request itself is refused. `answer`: after the text chunks, a candidate with no
   * content and this `finishReason` (default `SAFETY`).
   */
  readonly block?: { readonly where: 'prompt' | 'answer'; readonly reason?: string };
  /** Wait before sending the status line and headers. */
  readonly headersDelayMs?: number;
  /** Wait after the headers before the first chunk. */
  readonly firstChunkDelayMs?: number;
  /** Wait between chunks. */
  readonly chunkDelayMs?: number;
  /** Answer with this HTTP status and a Google error JSON (`{ error: { code, message, status } }`). */
  readonly error?: { readonly status: number; readonly message?: string };
  /** Never send the status line: the request hangs until the client gives up. */
  readonly hangBeforeHeaders?: boolean;
  /** Send headers and this many text chunks, then hang (0: nothing at all). */
  readonly hangAfterChunks?: number;
  /** Send this many text chunks, then destroy the socket (a connection reset mid-stream). */
  readonly dropAfterChunks?: number;
  /** Send this many text chunks, then an in-stream `data: {"error": …}` event and end. */
  readonly streamErrorAfterChunks?: number;
  /**
   * `usageMetadata`, sent with every chunk as running totals like the real API. Default: counts
   * estimated from the text; `false`: never sent.
   */
  readonly usage?: false | { readonly promptTokens: number; readonly candidatesTokens: number; readonly thoughtsTokens?: number };
}

/** The JSON body of a `streamGenerateContent` request as it goes over the wire. */
export interface GeminiWireRequest {
  readonly contents: Content[];
  readonly systemInstruction?: Content;
  readonly tools?: Tool[];
  readonly generationConfig?: { readonly temperature?: number; readonly maxOutputTokens?: number } & Record<string, unknown>;
  readonly [key: string]: unknown;
}

/** How one exchange ended: sent in full, closed early by the client, or dropped by the fake. */
export type FakeGeminiOutcome = ExchangeOutcome;

/** One request the fake received (`path` with query, e.g. `/v1beta/models/test-model:streamGenerateContent?alt=sse`). */
export interface FakeGeminiRequest extends RecordedRequest {
  /** The model named in the path; undefined when the path is not a model method. */
  readonly model: string | undefined;
  /** The parsed JSON body; undefined when there was none or it was not JSON. */
  readonly body: GeminiWireRequest | undefined;
}

/** A running fake; see {@link startFakeGemini}. `url` is the base URL for the SDK's `httpOptions.baseUrl`: `http://127.0.0.1:PORT`. */
export type FakeGemini = RecordingHttp<FakeGeminiScript, FakeGeminiRequest>;

/** The reply when a script gives none. */
export const DEFAULT_FAKE_GEMINI_REPLY = 'Hello from the fake Gemini. It speaks in two sentences.';

const STREAM_PATH = /^\/v1beta\/models\/([^/:?]+):streamGenerateContent\?(?:.*&)?alt=sse(?:&|$)/u;
const CHARS_PER_TOKEN = 4;
/** Google's canonical status names for the HTTP codes tests use. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Starts a fake Gemini API on 127.0.0.1 with an ephemeral port. */
export function startFakeGemini(initial: FakeGeminiScript = {}): Promise<FakeGemini> {
  return startRecordingHttp<FakeGeminiScript, FakeGeminiRequest>({
    initial,
    record: (req, body) => ({ model: STREAM_PATH.exec(req.url ?? '')?.[1], body: parseJson(body) as GeminiWireRequest | undefined }),
    respond,
    onBug: (res, error) => sendJson(res, 500, errorBody(500, `fake server bug: ${String(error)}`)),
  });
}

const respond: RecordingHttpOptions<FakeGeminiScript, FakeGeminiRequest>['respond'] = async (record, script, res, signal, markDropping) => {
  if (record.method !== 'POST' || record.model === undefined) {
    return sendJson(res, 404, errorBody(404, `no route ${record.method} ${record.path}`));
  }
  if (!record.headers['x-goog-api-key']) {
    return sendJson(res, 403, errorBody(403, 'Method doesn\'t allow unregistered callers. Please use an API key.'));
  }
  if (record.body === undefined || !Array.isArray(record.body.contents)) {
    return sendJson(res, 400, errorBody(400, 'the body must be a JSON GenerateContentRequest'));
  }
  if (script.error) return sendJson(res, script.error.status, errorBody(script.error.status, script.error.message));

  const modelVersion = script.modelVersion ?? record.model;
  const responseId = `fake-${Math.random().toString(36).slice(2, 10)}`;
  const chunks = replyChunks(script, DEFAULT_FAKE_GEMINI_REPLY);
  const promptTokens = Math.ceil(JSON.stringify(record.body.contents).length / CHARS_PER_TOKEN);
  let sentChars = 0;
  const usage = (final: boolean): object | undefined => {
    if (script.usage === false) return undefined;
    const candidatesTokens = final && script.usage ? script.usage.candidatesTokens : Math.ceil(sentChars / CHARS_PER_TOKEN);
    const prompt = script.usage?.promptTokens ?? promptTokens;
    const thoughts = final ? (script.usage?.thoughtsTokens ?? 0) : 0;
    return {
      promptTokenCount: prompt,
      candidatesTokenCount: candidatesTokens,
      ...(thoughts > 0 ? { thoughtsTokenCount: thoughts } : {}),
      totalTokenCount: prompt + candidatesTokens + thoughts,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
    };
  };
  const event = (candidate: object | undefined, final: boolean): object => {
    const u = usage(final);
    return { ...(candidate ? { candidates: [{ ...candidate, index: 0 }] } : {}), ...(u ? { usageMetadata: u } : {}), modelVersion, responseId };
  };

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  await pause(script.firstChunkDelayMs, signal);
  if (script.block?.where === 'prompt') {
    const u = usage(true);
    await sendEvent(res, {
      promptFeedback: { blockReason: script.block.reason ?? 'SAFETY', safetyRatings: safetyRatings('HIGH') },
      ...(u ? { usageMetadata: u } : {}),
      modelVersion,
      responseId,
    });
    res.end();
    return;
  }
  const stops = { hangAfter: script.hangAfterChunks, dropAfter: script.dropAfterChunks, errorAfter: script.streamErrorAfterChunks };
  for (let i = 0; i <= chunks.length; i += 1) {
    if (await stoppedBefore(stops, i, chunks.length, res, markDropping, () => sendStreamError(res))) return;
    if (i === chunks.length) break;
    if (i > 0) await pause(script.chunkDelayMs, signal);
    sentChars += chunks[i].length;
    await sendEvent(res, event({ content: { parts: [{ text: chunks[i] }], role: 'model' } }, false));
  }
  if (script.block?.where === 'answer') {
    await sendEvent(res, event({ finishReason: script.block.reason ?? 'SAFETY', safetyRatings: safetyRatings('MEDIUM') }, true));
  } else {
    const calls = script.functionCalls ?? [];
    const parts = calls.map((call) => ({ functionCall: { name: call.name, args: call.args } }));
    // The real API ends with an empty text part when the last chunk has nothing else to carry.
    await sendEvent(res, event({ content: { parts: parts.length > 0 ? parts : [{ text: '' }], role: 'model' }, finishReason: script.finishReason ?? 'STOP' }, true));
  }
  res.end();
};

function safetyRatings(probability: string): object[] {
  return [
    { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
    { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability, blocked: true },
  ];
}

function errorBody(status: number, message = `fake upstream error ${status}: do not show this to users`): object {
  return { error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonWith(res, status, body, { 'content-type': 'application/json; charset=UTF-8' });
}

async function sendStreamError(res: ServerResponse): Promise<void> {
  await sendEvent(res, errorBody(500, 'fake in-stream error: do not show this to users'));
  res.end();
}

/** Google's servers end each event with `\r\n\r\n`. */
function sendEvent(res: ServerResponse, data: object): Promise<void> {
  return sendSseEvent(res, data, '\r\n');
}
