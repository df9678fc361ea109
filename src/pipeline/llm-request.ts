import type { MemoryContext } from '../memory/store.js';
import type { SystemPrompt } from '../text-processing/prompts.js';
import type { LlmRequest, ToolSpec } from '../llm/provider.js';

export interface TurnScreenshot {
  readonly base64: string;
  readonly width?: number;
  readonly height?: number;
}

/** Everything one turn's model request is made of. */
export interface LlmRequestInput {
  /** The rendered template (`config/prompts/…`) becomes the system prompt. */
  readonly systemPrompt: SystemPrompt;
  readonly context: MemoryContext;
  /** The user's merged, normalised prompt. */
  readonly prompt: string;
  readonly screenshot: TurnScreenshot | undefined;
  /** Commands offered to the model (empty when actions are disabled). */
  readonly tools: readonly ToolSpec[];
  readonly maxOutputTokens: number;
  readonly temperature: number;
}

/**
 * Builds the model request of a turn. The user's merged prompt is exactly the text of the last
 * user message (the screenshot an image part of it); remembered context goes into the system
 * prompt (facts, summary) and earlier messages (turns), never into the prompt itself.
 */
export function buildLlmRequest(input: LlmRequestInput): LlmRequest {
  const { screenshot, tools } = input;
  return {
    system: input.systemPrompt.render({
      prompt: input.prompt,
      memory: input.context,
      screenshot,
      actionsOffered: tools.length > 0,
    }),
    history: input.context.messages,
    prompt: input.prompt,
    image: screenshot && {
      mimeType: 'image/webp',
      base64: screenshot.base64,
      width: screenshot.width,
      height: screenshot.height,
    },
    maxOutputTokens: input.maxOutputTokens,
    temperature: input.temperature,
    ...(tools.length > 0 ? { tools } : {}),
  };
}
