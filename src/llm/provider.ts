/**
 * The language-model contract. Providers stream events for one request and stop as soon as the
 * signal aborts (closing their upstream connection). They throw AppError with a kind; nothing
 * outside a provider inspects SDK error shapes.
 */
export interface ChatMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

export interface LlmImage {
  /** Always image/webp from Nexy clients. */
  readonly mimeType: string;
  readonly base64: string;
  readonly width?: number;
  readonly height?: number;
}

export interface LlmRequest {
  /** The system prompt, with remembered context folded in by the pipeline. */
  readonly system: string;
  /** Earlier turns, oldest first. Never contains the current prompt. */
  readonly history: readonly ChatMessage[];
  /** The user's merged prompt: the text of the last user message. */
  readonly prompt: string;
  /** The screenshot, sent as an image part of that same last user message. */
  readonly image?: LlmImage;
  readonly maxOutputTokens: number;
  readonly temperature: number;
  /** Commands the model may call (native tool/function calling); absent or empty: none. */
  readonly tools?: readonly ToolSpec[];
}

/** One command offered to the model, with a JSON Schema of its arguments. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  /** JSON Schema (an object schema) of the arguments. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

export type LlmEvent =
  | { readonly type: 'text'; readonly text: string }
  /** A complete tool call; arguments already parsed from the provider's JSON. */
  | { readonly type: 'tool_call'; readonly name: string; readonly args: Readonly<Record<string, unknown>> }
  | { readonly type: 'usage'; readonly inputTokens: number; readonly outputTokens: number; readonly model: string };

export interface LlmProvider {
  /** Stable name for logs and metrics (`openai`, `scripted`, `degraded`). */
  readonly name: string;
  stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent>;
}
