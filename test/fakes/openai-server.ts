/**
 * A local fake of an OpenAI-compatible server, for tests. It speaks the real wire format of
 * `POST /v1/chat/completions` (streamed as server-sent events, or a plain JSON completion),
 * records what clients sent and how each exchange ended, and can be scripted per test to be slow,
 * fail with an HTTP status, hang, or drop the connection mid-stream.
 *
 * ```ts
 * const fake = await startFakeOpenAi();
 * fake.script({ reply: 'Hello there.', chunkDelayMs: 5 });
 * // point the provider (or the whole server's config) at fake.url
 * assert.equal(fake.requests[0].body?.model, 'test-model');
 * await fake.waitForClose(); // the client closed the upstream request early
 * await fake.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { parseJson, pause, replyChunks, sendEvent, sendJson, startRecordingHttp, stoppedBefore, type ExchangeOutcome, type RecordedRequest, type RecordingHttp, type RecordingHttpOptions } from './recording-http.js';

/** How a fake server answers one request. Every field is optional; `{}` is a quick, healthy reply. */
export interface FakeOpenAiScript {
  /** The reply text. Default: {@link DEFAULT_FAKE_REPLY}. */
  readonly reply?: string;
  /** Explicit content chunks (each one `delta.content`); wins over `reply`/`chunkChars`. */
  readonly chunks?: readonly string[];
  /** Cut `reply` into chunks of this many characters. Default: word by word (`"Hello"`, `" there."`). */
  readonly chunkChars?: number;
  /** The `model` field of the answer. Default: the request's model. */
  readonly model?: string;
  /** `finish_reason` of the last chunk. Default `stop`. */
  readonly finishReason?: string;
  /** Wait before sending the status line and headers. */
  readonly headersDelayMs?: number;
  /** Wait after the headers (and the role-only first chunk) before the first content chunk. */
  readonly firstChunkDelayMs?: number;
  /** Wait between content chunks. */
  readonly chunkDelayMs?: number;
  /** Answer with this HTTP status and an OpenAI-style error JSON instead of a completion. */
  readonly error?: {
    readonly status: number;
    /** `error.message` of the default body; tests use it to prove upstream text never reaches a client. */
    readonly message?: string;
    /** The whole JSON body, instead of the default `{ error: { message, type, param, code } }`. */
    readonly body?: unknown;
    readonly headers?: Readonly<Record<string, string>>;
  };
  /** Never send the status line: the request hangs until the client gives up. */
  readonly hangBeforeHeaders?: boolean;
  /** Send headers, the role chunk and this many content chunks, then hang (0: no text at all). */
  readonly hangAfterChunks?: number;
  /** Send this many content chunks, then destroy the socket (a connection reset mid-stream). */
  readonly dropAfterChunks?: number;
  /** Send this many content chunks, then an in-stream `data: {"error": …}` event and end. */
  readonly streamErrorAfterChunks?: number;
  /**
   * The usage chunk, sent (as the real API does) only when the request asked for it with
   * `stream_options.include_usage`. Default: counts estimated from the text; `false`: never sent,
   * like servers that ignore `stream_options`.
   */
  readonly usage?: false | { readonly promptTokens: number; readonly completionTokens: number };
  /**
   * Tool calls, streamed in the real format (`choices[0].delta.tool_calls` fragments keyed by
   * `index`: the first names the function, the rest carry pieces of its JSON arguments). With any,
   * `finishReason` defaults to `tool_calls`.
   */
  readonly toolCalls?: readonly FakeToolCall[];
}

/** One scripted tool call; its `index` on the wire is its position in `toolCalls`. */
export interface FakeToolCall {
  readonly name: string;
  /** The JSON arguments as the model writes them (need not be valid JSON). */
  readonly arguments: string;
  /** Sent after this many content chunks (0: before any text). Default: after all of them. */
  readonly afterChunk?: number;
  /** The arguments are cut into this many fragments. Default 3. */
  readonly argumentChunks?: number;
}

/** How one exchange ended: sent in full, closed early by the client, or dropped by the fake (`dropAfterChunks`). */
export type FakeExchangeOutcome = ExchangeOutcome;

/** One request the fake received. */
export interface FakeOpenAiRequest extends RecordedRequest {
  /** The parsed JSON body; undefined when there was none or it was not JSON. */
  readonly body: ChatCompletionCreateParams | undefined;
}

/** A running fake; see {@link startFakeOpenAi}. `url` is the base URL for an OpenAI client: `http://127.0.0.1:PORT/v1`. */
export type FakeOpenAi = RecordingHttp<FakeOpenAiScript, FakeOpenAiRequest>;

/** The reply when a script gives none. */
export const DEFAULT_FAKE_REPLY = 'Hello from the fake model. It speaks in two sentences.';

const CHAT_PATH = '/v1/chat/completions';
const MODELS_PATH = '/v1/models';
const CHARS_PER_TOKEN = 4;

/** Starts a fake OpenAI-compatible server on 127.0.0.1 with an ephemeral port. */
export function startFakeOpenAi(initial: FakeOpenAiScript = {}): Promise<FakeOpenAi> {
  return startRecordingHttp<FakeOpenAiScript, FakeOpenAiRequest>({
    initial,
    basePath: '/v1',
    record: (_req, body) => ({ body: parseJson(body) as ChatCompletionCreateParams | undefined }),
    respond,
    onBug: (res, error) => sendJson(res, 500, openAiErrorBody(500, `fake server bug: ${String(error)}`)),
  });
}

const respond: RecordingHttpOptions<FakeOpenAiScript, FakeOpenAiRequest>['respond'] = async (record, script, res, signal, markDropping) => {
  if (record.method === 'GET' && record.path === MODELS_PATH) {
    return sendJson(res, 200, { object: 'list', data: [{ id: script.model ?? 'fake-model', object: 'model', created: 0, owned_by: 'fake' }] });
  }
  if (record.method !== 'POST' || record.path !== CHAT_PATH) {
    return sendJson(res, 404, openAiErrorBody(404, `no route ${record.method} ${record.path}`));
  }
  if (record.body === undefined || !Array.isArray(record.body.messages)) {
    return sendJson(res, 400, openAiErrorBody(400, 'the body must be a JSON chat completion request'));
  }
  if (script.error) {
    return sendJson(res, script.error.status, script.error.body ?? openAiErrorBody(script.error.status, script.error.message), script.error.headers);
  }

  const body = record.body;
  const model = script.model ?? body.model;
  const chunks = replyChunks(script, DEFAULT_FAKE_REPLY);
  const reply = chunks.join('');
  const usage = script.usage === false ? undefined : (script.usage ?? estimateUsage(body, reply));
  const id = `chatcmpl-fake-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);

  if (body.stream !== true) {
    return sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: reply,
            refusal: null,
            ...(script.toolCalls?.length
              ? { tool_calls: script.toolCalls.map((c, i) => ({ id: `call_fake_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
              : {}),
          },
          logprobs: null,
          finish_reason: finishReasonOf(script),
        },
      ],
      ...(usage ? { usage: wireUsage(usage) } : {}),
    });
  }

  const wantsUsage = body.stream_options?.include_usage === true;
  const chunk = (delta: object, finishReason: string | null): object => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(wantsUsage ? { usage: null } : {}),
  });

  const toolCalls = script.toolCalls ?? [];
  const sendToolCalls = async (after: (afterChunk: number) => boolean): Promise<void> => {
    for (const [index, call] of toolCalls.entries()) {
      if (!after(call.afterChunk ?? chunks.length)) continue;
      await sendEvent(res, chunk({ tool_calls: [{ index, id: `call_fake_${index}`, type: 'function', function: { name: call.name, arguments: '' } }] }, null));
      for (const piece of fragments(call.arguments, call.argumentChunks ?? 3)) {
        await sendEvent(res, chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
      }
    }
  };

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  await sendEvent(res, chunk({ role: 'assistant', content: '', refusal: null }, null));
  await pause(script.firstChunkDelayMs, signal);
  const stops = { hangAfter: script.hangAfterChunks, dropAfter: script.dropAfterChunks, errorAfter: script.streamErrorAfterChunks };
  for (let i = 0; i <= chunks.length; i += 1) {
    if (i === chunks.length) await sendToolCalls((after) => after >= chunks.length);
    if (await stoppedBefore(stops, i, chunks.length, res, markDropping, () => sendStreamError(res))) return;
    if (i === chunks.length) break;
    if (i > 0) await pause(script.chunkDelayMs, signal);
    await sendToolCalls((after) => after === i);
    await sendEvent(res, chunk({ content: chunks[i] }, null));
  }
  await sendEvent(res, chunk({}, finishReasonOf(script)));
  if (wantsUsage && usage) {
    await sendEvent(res, { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices: [], usage: wireUsage(usage) });
  }
  res.end('data: [DONE]\n\n');
};

function finishReasonOf(script: FakeOpenAiScript): string {
  return script.finishReason ?? (script.toolCalls?.length ? 'tool_calls' : 'stop');
}

/** `text` cut into `count` pieces of about equal length (fewer when it is shorter). */
function fragments(text: string, count: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, count)));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function estimateUsage(body: ChatCompletionCreateParams, reply: string): { promptTokens: number; completionTokens: number } {
  return {
    promptTokens: Math.ceil(JSON.stringify(body.messages).length / CHARS_PER_TOKEN),
    completionTokens: Math.ceil(reply.length / CHARS_PER_TOKEN),
  };
}

function wireUsage(usage: { promptTokens: number; completionTokens: number }): object {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/** An OpenAI-style error body; its default message proves upstream text never reaches a client. */
export function openAiErrorBody(status: number, message = `fake upstream error ${status}: do not show this to users`): object {
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const code = status === 401 ? 'invalid_api_key' : status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type, param: null, code } };
}

async function sendStreamError(res: ServerResponse): Promise<void> {
  await sendEvent(res, openAiErrorBody(500, 'fake in-stream error: do not show this to users'));
  res.end();
}
