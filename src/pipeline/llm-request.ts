import type { Config } from '../config/schema.js';
import type { MemoryContext } from '../memory/store.js';
import type { LlmRequest } from '../text-processing/provider.js';

export interface TurnScreenshot {
  readonly base64: string;
  readonly width?: number;
  readonly height?: number;
}

/**
 * Builds the model request of a turn. The user's merged prompt is exactly the text of the last
 * user message (the screenshot an image part of it); remembered context goes into the system
 * prompt and earlier messages, never into the prompt itself.
 */
export function buildLlmRequest(
  config: Config,
  context: MemoryContext,
  prompt: string,
  screenshot: TurnScreenshot | undefined,
): LlmRequest {
  const system: string[] = [config.text_processing.system_prompt.trim()];
  if (context.facts.length > 0) system.push(`What you know about the user:\n${context.facts.map((f) => `- ${f}`).join('\n')}`);
  if (context.summary !== '') system.push(`Summary of earlier conversation:\n${context.summary}`);
  if (screenshot) {
    const size = screenshot.width && screenshot.height ? ` (${screenshot.width}×${screenshot.height} pixels)` : '';
    system.push(`A screenshot of the user's screen${size} is attached to their message.`);
  }
  return {
    system: system.join('\n\n'),
    history: context.messages,
    prompt,
    image: screenshot && {
      mimeType: 'image/webp',
      base64: screenshot.base64,
      width: screenshot.width,
      height: screenshot.height,
    },
    maxOutputTokens: config.text_processing.max_output_tokens,
    temperature: config.text_processing.temperature,
  };
}
