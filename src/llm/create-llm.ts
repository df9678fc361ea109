import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { FallbackLlm, type FallbackListener } from './fallback-llm.js';
import { LazyLlm } from './lazy-llm.js';
import type { LlmProvider } from './provider.js';
import { DegradedProvider } from './providers/degraded.js';
import { ScriptedProvider } from './providers/scripted.js';

type TextProcessingConfig = Config['text_processing'];
type LlmName = TextProcessingConfig['fallback'][number];

export interface CreateLlmOptions {
  readonly logger: Logger;
  /** A turn moved on from one provider of the fallback chain to the next (a metric hooks here). */
  readonly onFallback?: FallbackListener;
  /** A provider's circuit breaker changed state. */
  readonly onBreakerChange?: (provider: string, state: string) => void;
  /** A provider whose module loads on first use was made (the start-up warm-up preloads it). */
  readonly onLazy?: (provider: LazyLlm) => void;
}

/**
 * The language model `text_processing` asks for: `provider` (`auto`: openai when an OpenAI key
 * or base URL is set, else gemini when a Gemini key is set), then each `fallback` provider not
 * already chosen. Two or more become a {@link FallbackLlm} with a circuit breaker each; none is
 * the degraded notice. Used by the composition root, the benchmarks and tests alike.
 */
export function createLlm(tp: TextProcessingConfig, options: CreateLlmOptions): LlmProvider {
  const { logger } = options;
  const primary = tp.provider === 'auto' ? autoLlm(tp) : tp.provider;
  const names = [...new Set([...(primary === undefined ? [] : [primary]), ...tp.fallback])];
  if (names.length === 0) {
    logger.warn(
      'no language model configured (set OPENAI_API_KEY, OPENAI_BASE_URL or GEMINI_API_KEY): every answer is a spoken notice; welcome and everything else work',
    );
    return new DegradedProvider({ notice: tp.degraded_notice });
  }
  const providers = names.map((name) => llmProvider(name, tp, logger));
  for (const provider of providers) if (provider instanceof LazyLlm) options.onLazy?.(provider);
  if (providers.length === 1) return providers[0];
  return new FallbackLlm({
    providers,
    breaker: { failureThreshold: tp.breaker.failure_threshold, windowMs: tp.breaker.window_ms, cooldownMs: tp.breaker.cooldown_ms },
    onFallback: (from, to, error) => {
      logger.warn({ from, to, kind: error.kind, err: error }, 'language model fallback');
      options.onFallback?.(from, to, error);
    },
    onBreakerChange: (provider, from, to) => {
      logger.warn({ provider, from, to }, 'language model circuit breaker changed state');
      options.onBreakerChange?.(provider, to);
    },
  });
}

/**
 * The long-term-memory updater's model: none when turns have no real model (the degraded notice,
 * the scripted demo reply), else the turn's own, or `updaterModel`
 * (`memory_management.updater.model`, a cheaper one) on the configured OpenAI-compatible endpoint.
 * `updaterModel` empty: the turn's model.
 */
export function createUpdaterLlm(tp: TextProcessingConfig, updaterModel: string, turnLlm: LlmProvider, logger: Logger): LlmProvider | undefined {
  if (turnLlm.name === 'degraded' || turnLlm.name === 'scripted') return undefined;
  if (updaterModel === '') return turnLlm;
  return createLlm({ ...tp, openai: { ...tp.openai, model: updaterModel } }, { logger });
}

function autoLlm(tp: TextProcessingConfig): LlmName | undefined {
  if (tp.openai.api_key !== '' || tp.openai.base_url !== '') return 'openai';
  if (tp.gemini.api_key !== '') return 'gemini';
  return undefined;
}

function llmProvider(name: LlmName, tp: TextProcessingConfig, logger: Logger): LlmProvider {
  // The answer's total limit (total_timeout_ms) is the turn's; the first-token limit is each attempt's.
  const timeouts = { firstTokenTimeoutMs: tp.first_token_timeout_ms };
  switch (name) {
    case 'openai':
      // openai and gemini import their SDKs: loaded only when configured (see LazyLlm).
      return new LazyLlm(name, async () => new (await import('./providers/openai.js')).OpenAiProvider({
        baseUrl: tp.openai.base_url,
        apiKey: tp.openai.api_key,
        model: tp.openai.model,
        placeholderApiKey: tp.openai.placeholder_api_key,
        ...timeouts,
        logger,
      }));
    case 'gemini':
      return new LazyLlm(name, async () => new (await import('./providers/gemini.js')).GeminiProvider({
        baseUrl: tp.gemini.base_url,
        apiKey: tp.gemini.api_key,
        model: tp.gemini.model,
        safetyRefusal: tp.gemini.safety_refusal,
        ...timeouts,
      }));
    case 'scripted':
      return new ScriptedProvider({
        reply: tp.scripted.reply,
        firstTokenDelayMs: tp.scripted.first_token_delay_ms,
        tokenDelayMs: tp.scripted.token_delay_ms,
        tokenChars: tp.scripted.token_chars,
        failBeforeFirstToken: tp.scripted.fail_before_first_token,
        failAfterChars: tp.scripted.fail_after_chars,
        failKind: tp.scripted.fail_kind,
      });
  }
}
