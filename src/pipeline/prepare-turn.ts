import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { LlmProvider, LlmRequest } from '../llm/provider.js';
import { EMPTY_CONTEXT, type MemoryContext } from '../memory/store.js';
import type { Metrics } from '../observability/metrics.js';
import { mergeSpeech } from '../protocol/collect-merge.js';
import type { ValidStreamRequest } from '../protocol/validation.js';
import type { CollectedState, CollectStore } from '../sessions/collect-store.js';
import { RefusalProvider } from '../text-processing/filters.js';
import { normalisePrompt } from '../text-processing/normalise.js';
import type { TextProcessing } from '../text-processing/text-processing.js';
import { buildLlmRequest, type TurnScreenshot } from './llm-request.js';
import { turnLlm, type UsageEvent } from './turn-llm.js';

export interface PrepareTurnDeps {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly collectStore: CollectStore;
  /** System prompt template, action gate and input filter. */
  readonly textProcessing: TextProcessing;
  /** The turn's model (chain). */
  readonly llm: LlmProvider;
}

export interface PrepareTurnHooks {
  readonly log: Logger;
  /** The user's context, already being fetched (it does not depend on the prompt); unused when the prompt is blocked. */
  readonly context: Promise<MemoryContext>;
  /**
   * Told what memory may keep of the prompt (the masked form) as soon as it is known, so that a
   * turn stopped later is still remembered. Not called for a blocked prompt: later turns' history
   * would carry it to the model.
   */
  readonly onUserText: (text: string) => void;
  /** The model's token counts, as it reports them. */
  readonly onUsage: (usage: UsageEvent) => void;
}

/** What a turn asks, and of whom: the turn's model, or the filter's spoken refusal. */
export interface PreparedTurn {
  readonly llm: LlmProvider;
  readonly request: LlmRequest;
}

/** The COMMIT's screenshot, else the one COLLECT buffered; the COMMIT's screen size wins. */
function turnScreenshot(request: ValidStreamRequest, collected: CollectedState | undefined): TurnScreenshot | undefined {
  if (request.screenshot) {
    return {
      base64: request.screenshot.base64,
      width: request.screenWidth ?? request.screenshot.info.width,
      height: request.screenHeight ?? request.screenshot.info.height,
    };
  }
  return (
    collected?.screenshot && {
      ...collected.screenshot,
      width: request.screenWidth ?? collected.screenshot.width,
      height: request.screenHeight ?? collected.screenshot.height,
    }
  );
}

/**
 * A COMMIT's request preparation: the COLLECT buffer taken and merged with the COMMIT's own
 * text, normalised and checked by the input filter (a blocked prompt gets the configured
 * refusal, spoken, instead of the model); the screenshot; the user's context; the model request
 * built from the template, history, prompt, image and tools.
 */
export async function prepareTurn(deps: PrepareTurnDeps, request: ValidStreamRequest, hooks: PrepareTurnHooks): Promise<PreparedTurn> {
  const { config, metrics, collectStore, textProcessing } = deps;
  const { log } = hooks;
  const collected = await collectStore.take({ hardwareId: request.hardwareId, sessionId: request.sessionId });
  metrics.collectBuffers.set(collectStore.buffered);
  const merged = mergeSpeech(collected?.text ?? '', request.prompt !== '' ? request.prompt : request.piece);
  const prompt = normalisePrompt(merged, config.text_processing.max_prompt_chars);
  if (prompt === '') throw new AppError('bad_input', 'prompt is empty: nothing to answer');
  if (prompt.length < merged.trim().length) log.warn({ chars: merged.length }, 'prompt cut to the configured length');
  const verdict = textProcessing.filter.check(prompt);
  // Logs and memory get the masked form only; the model hears what the user said.
  if (!verdict.blocked) hooks.onUserText(verdict.masked);

  const screenshot = turnScreenshot(request, collected);
  log.debug({ pii: { prompt: verdict.masked }, screenshot: Boolean(screenshot) }, 'turn started');

  if (verdict.blocked) log.info({ pattern: verdict.pattern }, 'prompt blocked by a filter: the refusal is spoken instead');
  const context = verdict.blocked ? EMPTY_CONTEXT : await hooks.context;
  const llmRequest = buildLlmRequest({
    systemPrompt: textProcessing.systemPrompt,
    context,
    prompt,
    screenshot,
    tools: textProcessing.actions.tools,
    maxOutputTokens: config.text_processing.max_output_tokens,
    temperature: config.text_processing.temperature,
  });
  const llm = verdict.blocked
    ? new RefusalProvider(verdict.refusal)
    : turnLlm(deps.llm, { gate: textProcessing.actions, sessionId: request.sessionId, log, onUsage: hooks.onUsage });
  return { llm, request: llmRequest };
}
