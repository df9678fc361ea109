import {
  ApiError,
  FinishReason,
  GoogleGenAI,
  type Content,
  type GenerateContentConfig,
  type GenerateContentResponse,
  type Part,
} from '@google/genai';
import { kindOfHttpStatus, networkKind, upstreamStream, type UpstreamCall, type UpstreamKind } from '../../upstream.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../provider.js';

/** Options of {@link GeminiProvider}; the server fills them from `text_processing` and its `gemini` block. */
export interface GeminiProviderOptions {
  readonly apiKey: string;
  /** Base URL of the Gemini API (the SDK appends `/v1beta/models/…`); empty: the SDK's default. */
  readonly baseUrl: string;
  readonly model: string;
  /** Spoken instead of an answer the model's safety filters blocked. */
  readonly safetyRefusal: string;
  /**
   * Nothing within this long after the request starts → AppError('timeout'). The whole answer's
   * limit is the caller's: it aborts `signal` (a turn with `text_processing.total_timeout_ms`).
   */
  readonly firstTokenTimeoutMs: number;
}

/** Finish reasons that mean the answer was withheld by a content filter rather than finished. */
const BLOCKED_FINISH_REASONS: ReadonlySet<string> = new Set([
  FinishReason.SAFETY,
  FinishReason.PROHIBITED_CONTENT,
  FinishReason.BLOCKLIST,
  FinishReason.SPII,
  FinishReason.RECITATION,
  FinishReason.IMAGE_SAFETY,
  FinishReason.IMAGE_PROHIBITED_CONTENT,
]);

/**
 * Plain `Error`s the SDK throws when a stream's body is not what it should be (cut inside an
 * event, not JSON, missing): the stream broke, which is the model being unavailable.
 */
const BROKEN_STREAM_MESSAGES = ['Incomplete JSON segment', 'exception parsing stream chunk', 'Response body is empty'];

/**
 * Google's Gemini models through the official SDK (`models.generateContentStream`, i.e.
 * `POST {baseUrl}/v1beta/models/{model}:streamGenerateContent?alt=sse`).
 */
export class GeminiProvider implements LlmProvider {
  readonly name = 'gemini';
  readonly #client: GoogleGenAI;
  readonly #model: string;
  readonly #safetyRefusal: string;
  readonly #firstTokenTimeoutMs: number;

  constructor(options: GeminiProviderOptions) {
    this.#model = options.model;
    this.#safetyRefusal = options.safetyRefusal;
    this.#firstTokenTimeoutMs = options.firstTokenTimeoutMs;
    // No `retryOptions`: the SDK then never retries. Retries and fallback are wrappers around a
    // provider; a retry inside the SDK would hide failures from them and blow the turn's budget.
    // No `timeout` either: its abort carries no reason, so our own countdown below does that job.
    this.#client = new GoogleGenAI({
      apiKey: options.apiKey,
      ...(options.baseUrl === '' ? {} : { httpOptions: { baseUrl: options.baseUrl } }),
    });
  }

  stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    // Closing the call closes the connection: the SDK only releases its reader when a stream
    // stops early, which leaves it open.
    return upstreamStream('language model', signal, geminiKind, (call) => this.#answer(request, call));
  }

  async *#answer(request: LlmRequest, call: UpstreamCall): AsyncGenerator<LlmEvent> {
    // The answer's total time is the caller's to bound (the turn's `total_timeout_ms`); the
    // first-token limit is this attempt's own, so that a fallback chain can move on.
    const firstToken = call.countdown(this.#firstTokenTimeoutMs, `nothing within ${this.#firstTokenTimeoutMs} ms`);
    const chunks = await this.#client.models.generateContentStream({
      model: this.#model,
      contents: contents(request),
      config: this.#config(request, call.signal),
    });
    let usage: { inputTokens: number; outputTokens: number; model: string } | undefined;
    let refused = false;
    for await (const chunk of chunks) {
      for (const event of events(chunk)) {
        firstToken.stop();
        yield event;
      }
      if (!refused && isBlocked(chunk)) {
        // A blocked prompt or answer is the model declining, not failing: say so, in words.
        refused = true;
        firstToken.stop();
        yield { type: 'text', text: this.#safetyRefusal };
      }
      // The API repeats running totals on chunks; the last one is the answer's.
      if (chunk.usageMetadata) {
        const u = chunk.usageMetadata;
        usage = {
          inputTokens: u.promptTokenCount ?? 0,
          // Thinking tokens are billed as output.
          outputTokens: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0),
          model: chunk.modelVersion || this.#model,
        };
      }
    }
    call.throwIfAborted();
    call.complete();
    if (usage) yield { type: 'usage', ...usage };
  }

  #config(request: LlmRequest, abortSignal: AbortSignal): GenerateContentConfig {
    const config: GenerateContentConfig = {
      abortSignal,
      maxOutputTokens: request.maxOutputTokens,
      temperature: request.temperature,
      // Resuming a dropped stream behind our back would hide the failure from the fallback chain.
      automaticContinuation: false,
      // Tool calls are the pipeline's to validate and send, never the SDK's to run.
      automaticFunctionCalling: { disable: true },
    };
    if (request.system !== '') config.systemInstruction = request.system;
    if (request.tools && request.tools.length > 0) {
      config.tools = [
        {
          functionDeclarations: request.tools.map((tool) => ({
            name: tool.name,
            description: tool.description,
            parametersJsonSchema: tool.parameters,
          })),
        },
      ];
    }
    return config;
  }
}

/** The history with Gemini's role names, then the prompt (and the screenshot) as the last user content. */
function contents(request: LlmRequest): Content[] {
  const out: Content[] = request.history.map((message) => ({
    role: message.role === 'assistant' ? 'model' : 'user',
    parts: [{ text: message.content }],
  }));
  const last: Part[] = [{ text: request.prompt }];
  if (request.image) last.push({ inlineData: { mimeType: request.image.mimeType, data: request.image.base64 } });
  out.push({ role: 'user', parts: last });
  return out;
}

/** Text and function calls of the first candidate, in order; the model's thoughts are not the answer. */
function* events(chunk: GenerateContentResponse): Generator<LlmEvent> {
  for (const part of chunk.candidates?.[0]?.content?.parts ?? []) {
    if (part.thought) continue;
    if (part.text) yield { type: 'text', text: part.text };
    else if (part.functionCall?.name) yield { type: 'tool_call', name: part.functionCall.name, args: part.functionCall.args ?? {} };
  }
}

function isBlocked(chunk: GenerateContentResponse): boolean {
  if (chunk.promptFeedback?.blockReason) return true;
  const reason = chunk.candidates?.[0]?.finishReason;
  return reason !== undefined && BLOCKED_FINISH_REASONS.has(reason);
}

/** The one place that reads the Gemini SDK's error shapes (aborts and AppErrors are `UpstreamCall.fail`'s). */
function geminiKind(error: unknown): UpstreamKind {
  if (error instanceof ApiError) return kindOfHttpStatus(error.status);
  if (error instanceof SyntaxError || isBrokenStream(error)) return 'unavailable';
  return networkKind(error);
}

function isBrokenStream(error: unknown): boolean {
  return error instanceof Error && BROKEN_STREAM_MESSAGES.some((prefix) => error.message.startsWith(prefix));
}
