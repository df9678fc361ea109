import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, OpenAIError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { Logger } from 'pino';
import { kindOfHttpStatus, networkKind, upstreamStream, type UpstreamCall, type UpstreamKind } from '../../upstream.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../provider.js';

/** Options of {@link OpenAiProvider}; the server fills them from `text_processing` and its `openai` block. */
export interface OpenAiProviderOptions {
  /** Base URL of an OpenAI-compatible API (`…/v1`); empty: the SDK's default. */
  readonly baseUrl: string;
  /** Empty: `placeholderApiKey` is sent (local servers need none, the SDK insists on one). */
  readonly apiKey: string;
  readonly model: string;
  readonly placeholderApiKey: string;
  /**
   * No text within this long after the request starts → AppError('timeout'). The whole answer's
   * limit is the caller's: it aborts `signal` (a turn with `text_processing.total_timeout_ms`).
   */
  readonly firstTokenTimeoutMs: number;
  /** Where a malformed tool call is reported before it is dropped; absent: dropped silently. */
  readonly logger?: Logger;
}

/**
 * A language model behind the Chat Completions API (`POST {baseUrl}/chat/completions`, streamed),
 * which OpenAI and every OpenAI-compatible server (Ollama, vLLM, LM Studio, …) implement.
 */
export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai';
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #firstTokenTimeoutMs: number;
  readonly #logger: Logger | undefined;

  constructor(options: OpenAiProviderOptions) {
    this.#model = options.model;
    this.#logger = options.logger;
    this.#firstTokenTimeoutMs = options.firstTokenTimeoutMs;
    this.#client = new OpenAI({
      apiKey: options.apiKey === '' ? options.placeholderApiKey : options.apiKey,
      baseURL: options.baseUrl === '' ? undefined : options.baseUrl,
      // Retries and fallback are wrappers around a provider; a retry inside the SDK would hide
      // failures from them and blow the turn's time budget.
      maxRetries: 0,
      // The SDK's timeout only covers the wait for response headers, which precede the first token.
      timeout: options.firstTokenTimeoutMs,
    });
  }

  stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    return upstreamStream('language model', signal, openAiKind, (call) => this.#answer(request, call));
  }

  async *#answer(request: LlmRequest, call: UpstreamCall): AsyncGenerator<LlmEvent> {
    // The answer's total time is the caller's to bound (the turn's `total_timeout_ms`); the
    // first-token limit is this attempt's own, so that a fallback chain can move on.
    const firstToken = call.countdown(this.#firstTokenTimeoutMs, `no text within ${this.#firstTokenTimeoutMs} ms`);
    const chunks = await this.#client.chat.completions.create(this.#body(request), { signal: call.signal });
    let usage: { inputTokens: number; outputTokens: number; model: string } | undefined;
    const toolCalls = new ToolCallAccumulator(this.#logger);
    for await (const chunk of chunks) {
      const choice = chunk.choices[0];
      const text = choice?.delta?.content;
      if (choice?.delta?.tool_calls?.length) {
        firstToken.stop();
        toolCalls.add(choice.delta.tool_calls);
      }
      if (text) {
        firstToken.stop();
        // Text after a call means the call is complete: it goes out first, in stream order.
        yield* toolCalls.take();
        yield { type: 'text', text };
      }
      if (choice?.finish_reason) yield* toolCalls.take();
      // Some servers repeat running totals on every chunk; the last one is the answer's.
      if (chunk.usage) {
        usage = {
          inputTokens: chunk.usage.prompt_tokens,
          outputTokens: chunk.usage.completion_tokens,
          model: chunk.model || this.#model,
        };
      }
    }
    // The SDK ends a stream quietly when its request is aborted: only the signal tells.
    call.throwIfAborted();
    // Servers that end the stream without a finish_reason still complete their calls.
    yield* toolCalls.take();
    call.complete();
    if (usage) yield { type: 'usage', ...usage };
  }

  #body(request: LlmRequest): ChatCompletionCreateParamsStreaming {
    const messages: ChatCompletionMessageParam[] = [];
    if (request.system !== '') messages.push({ role: 'system', content: request.system });
    for (const message of request.history) messages.push({ role: message.role, content: message.content });
    if (request.image) {
      const content: ChatCompletionContentPart[] = [
        { type: 'text', text: request.prompt },
        { type: 'image_url', image_url: { url: `data:${request.image.mimeType};base64,${request.image.base64}` } },
      ];
      messages.push({ role: 'user', content });
    } else {
      messages.push({ role: 'user', content: request.prompt });
    }
    return {
      model: this.#model,
      messages,
      max_tokens: request.maxOutputTokens,
      temperature: request.temperature,
      stream: true,
      stream_options: { include_usage: true },
      ...(request.tools && request.tools.length > 0
        ? {
            tools: request.tools.map((tool) => ({
              type: 'function' as const,
              function: { name: tool.name, description: tool.description, parameters: { ...tool.parameters } },
            })),
          }
        : {}),
    };
  }
}

type ToolCallDelta = NonNullable<ChatCompletionChunk.Choice.Delta['tool_calls']>[number];

/**
 * Streamed tool calls arrive as fragments keyed by `index`: the first names the function, the
 * rest append to its JSON arguments. A call is complete when text follows it, when the choice
 * finishes, or when the stream ends.
 */
class ToolCallAccumulator {
  readonly #pending = new Map<number, { name: string; args: string }>();
  readonly #logger: Logger | undefined;

  constructor(logger: Logger | undefined) {
    this.#logger = logger;
  }

  add(deltas: readonly ToolCallDelta[]): void {
    for (const delta of deltas) {
      const call = this.#pending.get(delta.index) ?? { name: '', args: '' };
      call.name += delta.function?.name ?? '';
      call.args += delta.function?.arguments ?? '';
      this.#pending.set(delta.index, call);
    }
  }

  /** The pending calls in index order, parsed; malformed ones are dropped and logged. */
  *take(): Generator<LlmEvent> {
    const calls = [...this.#pending].sort(([a], [b]) => a - b);
    this.#pending.clear();
    for (const [, call] of calls) {
      const args = parseArguments(call.args);
      if (call.name === '' || args === undefined) {
        this.#logger?.warn({ tool: call.name, args_chars: call.args.length }, 'malformed tool call from the model dropped');
        continue;
      }
      yield { type: 'tool_call', name: call.name, args };
    }
  }
}

/** A call's JSON arguments as an object; '' (a call without arguments) is `{}`; anything else undefined. */
function parseArguments(json: string): Record<string, unknown> | undefined {
  if (json.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The one place that reads the OpenAI SDK's error shapes (aborts and AppErrors are `UpstreamCall.fail`'s). */
function openAiKind(error: unknown): UpstreamKind {
  if (error instanceof APIConnectionTimeoutError) return 'timeout';
  if (error instanceof APIConnectionError) return 'unavailable';
  if (error instanceof APIError) return kindOfHttpStatus(error.status);
  // A broken stream: no body, a chunk that is not JSON, or the connection reset mid-answer.
  if (error instanceof OpenAIError || error instanceof SyntaxError) return 'unavailable';
  return networkKind(error);
}
