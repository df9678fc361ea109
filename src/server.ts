import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { createTts } from './audio/create-tts.js';
import type { TtsProvider } from './audio/provider.js';
import { RenderPool } from './audio/render-pool.js';
import { isRendering, renderOptionsFromConfig, SpeechOutput, speechOutputOptionsFromConfig } from './audio/speech-output.js';
import type { Config } from './config/schema.js';
import { AppError } from './errors.js';
import { StreamingServiceService } from './gen/streaming.js';
import { reflectionDefinition } from './grpc/reflection.js';
import { createStreamingService } from './grpc/streaming-service.js';
import { createAdminRoute } from './http/admin-routes.js';
import { createHttpServer, type ReadinessCheck } from './http/http-server.js';
import { createOperatorPage } from './http/operator-page.js';
import { createUpdateRoute } from './http/update-routes.js';
import { createLongTermUpdater, createMemoryStore } from './memory/create-memory-store.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { NexyService } from './pipeline/nexy-service.js';
import { SentenceSplitter, sentenceSplitterOptions } from './pipeline/sentence-splitter.js';
import { createSessionBackend } from './sessions/create-session-backend.js';
import { FallbackLlm, type FallbackListener } from './text-processing/fallback-llm.js';
import type { LlmProvider } from './text-processing/provider.js';
import { DegradedProvider } from './text-processing/providers/degraded.js';
import { GeminiProvider } from './text-processing/providers/gemini.js';
import { OpenAiProvider } from './text-processing/providers/openai.js';
import { ScriptedProvider } from './text-processing/providers/scripted.js';
import { createTextProcessing } from './text-processing/text-processing.js';
import { UpdateFeed } from './update/update-feed.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const VERSION: string = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface StartOptions {
  readonly logger?: Logger;
  /** Replace the configured language model (tests, benchmarks). */
  readonly llm?: LlmProvider;
  /** Replace the configured speech engine (tests). */
  readonly tts?: TtsProvider;
  /** The clock of the system prompt's date and time (tests). */
  readonly now?: () => Date;
}

export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly service: NexyService;
  readonly metrics: Metrics;
  readonly llm: LlmProvider;
  /** The client update feed (`reload()` after publishing without waiting for the rescan). */
  readonly updates: UpdateFeed;
  /** Stop accepting, abort running turns, flush memory, close everything. Idempotent. */
  shutdown(): Promise<void>;
}

type TextProcessingConfig = Config['text_processing'];

/** Hooks of {@link chooseLlm} the composition root wires to metrics. */
export interface LlmHooks {
  /** A turn moved on from one provider of the fallback chain to the next. */
  readonly onFallback?: FallbackListener;
  /** A provider's circuit breaker changed state. */
  readonly onBreakerChange?: (provider: string, state: string) => void;
}

/**
 * The configured language model: `provider` (`auto`: openai when an OpenAI key or base URL is
 * set, else gemini when a Gemini key is set), then each `fallback` provider not already chosen.
 * Two or more become a {@link FallbackLlm} with a circuit breaker each; none is the degraded notice.
 */
export function chooseLlm(config: Config, logger: Logger, hooks: LlmHooks = {}): LlmProvider {
  const tp = config.text_processing;
  const primary = tp.provider === 'auto' ? autoLlm(tp) : tp.provider;
  const names = [...new Set([...(primary === undefined ? [] : [primary]), ...tp.fallback])];
  if (names.length === 0) {
    logger.warn(
      'no language model configured (set OPENAI_API_KEY, OPENAI_BASE_URL or GEMINI_API_KEY): every answer is a spoken notice; welcome and everything else work',
    );
    return new DegradedProvider({ notice: tp.degraded_notice });
  }
  const providers = names.map((name) => llmProvider(name, tp, logger));
  if (providers.length === 1) return providers[0];
  return new FallbackLlm({
    providers,
    breaker: { failureThreshold: tp.breaker.failure_threshold, windowMs: tp.breaker.window_ms, cooldownMs: tp.breaker.cooldown_ms },
    onFallback: (from, to, error) => {
      logger.warn({ from, to, kind: error.kind, err: error }, 'language model fallback');
      hooks.onFallback?.(from, to, error);
    },
    onBreakerChange: (provider, from, to) => {
      logger.warn({ provider, from, to }, 'language model circuit breaker changed state');
      hooks.onBreakerChange?.(provider, to);
    },
  });
}

function autoLlm(tp: TextProcessingConfig): TextProcessingConfig['fallback'][number] | undefined {
  if (tp.openai.api_key !== '' || tp.openai.base_url !== '') return 'openai';
  if (tp.gemini.api_key !== '') return 'gemini';
  return undefined;
}

function llmProvider(name: TextProcessingConfig['fallback'][number], tp: TextProcessingConfig, logger: Logger): LlmProvider {
  const timeouts = { firstTokenTimeoutMs: tp.first_token_timeout_ms, totalTimeoutMs: tp.total_timeout_ms };
  switch (name) {
    case 'openai':
      return new OpenAiProvider({
        baseUrl: tp.openai.base_url,
        apiKey: tp.openai.api_key,
        model: tp.openai.model,
        placeholderApiKey: tp.openai.placeholder_api_key,
        ...timeouts,
        logger,
      });
    case 'gemini':
      return new GeminiProvider({
        baseUrl: tp.gemini.base_url,
        apiKey: tp.gemini.api_key,
        model: tp.gemini.model,
        safetyRefusal: tp.gemini.safety_refusal,
        ...timeouts,
      });
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

/** `audio_generation.provider`, then `fallback`, then eSpeak (offline) as the last resort. */
function chooseTts(config: Config, logger: Logger, metrics: Metrics): TtsProvider {
  return createTts(config.audio_generation, {
    logger,
    onFallback: (from, to) => metrics.providerFallbacks.inc({ area: 'tts', from, to }),
  });
}

/**
 * The long-term-memory updater's model: none when turns have no real model (the degraded notice,
 * the scripted demo reply), else the turn's own, or `memory_management.updater.model` (a cheaper
 * one) on the configured OpenAI-compatible endpoint.
 */
function chooseUpdaterLlm(config: Config, llm: LlmProvider, options: StartOptions, logger: Logger): LlmProvider | undefined {
  if (llm.name === 'degraded' || llm.name === 'scripted') return undefined;
  const model = config.memory_management.updater.model;
  if (model === '' || options.llm !== undefined) return llm;
  const tp = config.text_processing;
  return chooseLlm({ ...config, text_processing: { ...tp, openai: { ...tp.openai, model } } }, logger);
}

async function listenHttp(server: ReturnType<typeof createHttpServer>, host: string, port: number): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function bindGrpc(server: Server, host: string, port: number): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolvePort, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolvePort(bound)));
  });
}

/**
 * The composition root: the only place that reads config to choose implementations and builds
 * the object graph. Returns once both ports listen and the speech engine is warm.
 */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logging.level);
  const metrics = new Metrics();
  metrics.maxActiveStreams.set(config.grpc.max_active_turns);
  const startedAt = Date.now();
  const cleanups: Array<() => Promise<void> | void> = [];

  try {
    // First: a bad prompt template, action schema or filter pattern is a config error (exit 2).
    const textProcessing = createTextProcessing(config.text_processing, { baseDir: ROOT, now: options.now ?? (() => new Date()) });
    const llm =
      options.llm ??
      chooseLlm(config, logger, {
        onFallback: (from, to) => metrics.providerFallbacks.inc({ area: 'llm', from, to }),
        onBreakerChange: (provider, state) => metrics.providerBreakerOpen.set({ area: 'llm', provider }, state === 'open' ? 1 : 0),
      });
    const tts = options.tts ?? chooseTts(config, logger, metrics);
    const ag = config.audio_generation;
    await tts.warm();
    // Synthesis worker threads stop last, after the turns using them.
    cleanups.push(async () => {
      await tts.close?.();
    });
    // Engines that make their PCM on this thread (cloud engines, a chain) convert it in a worker.
    const converter =
      ag.synthesis_workers.enabled && !isRendering(tts)
        ? new RenderPool({ threads: ag.synthesis_workers.conversion_threads, render: renderOptionsFromConfig(ag), logger })
        : undefined;
    if (converter !== undefined) cleanups.push(() => converter.close());
    const speaker = new SpeechOutput(tts, speechOutputOptionsFromConfig(ag), { converter });
    const memory = await createMemoryStore(config.memory_management, logger);
    cleanups.push(() => memory.close());
    const pruner = setInterval(() => {
      memory.prune(new Date()).then(
        (pruned) => logger.info({ pruned }, 'memory pruned'),
        (error: unknown) => logger.warn({ err: error }, 'memory prune failed'),
      );
    }, config.memory_management.prune_interval_ms).unref();
    cleanups.push(() => clearInterval(pruner));
    const memoryUpdater = createLongTermUpdater(config.memory_management, {
      store: memory,
      llm: chooseUpdaterLlm(config, llm, options, logger),
      logger,
    });
    const sessions = await createSessionBackend(config.session_management, logger);
    cleanups.push(() => sessions.close());
    const { collectStore, interrupts } = sessions;
    const splitterOptions = sentenceSplitterOptions(config.pipeline);
    const service = new NexyService({
      config,
      logger,
      metrics,
      collectStore,
      registry: sessions.registry,
      interrupts,
      memory,
      memoryUpdater,
      llm,
      textProcessing,
      speaker,
      newSegmenter: () => new SentenceSplitter(splitterOptions),
    });
    // The greeting every client asks for at start: synthesize it now so it leaves from the cache.
    await speaker.speakCached(ag.welcome.default_text, {}, AbortSignal.timeout(config.server.shutdown_grace_ms * 10));

    const grpcServer = new Server({
      'grpc.max_receive_message_length': config.grpc.max_receive_message_bytes,
      'grpc.max_send_message_length': config.grpc.max_send_message_bytes,
      'grpc.keepalive_time_ms': config.grpc.keepalive_time_ms,
      'grpc.keepalive_timeout_ms': config.grpc.keepalive_timeout_ms,
    });
    grpcServer.addService(StreamingServiceService, createStreamingService({ config, logger, metrics, service }));
    const health = new HealthImplementation({ '': 'SERVING', 'streaming.StreamingService': 'SERVING' });
    health.addToServer(grpcServer);
    new ReflectionService(reflectionDefinition([resolve(ROOT, 'src/gen/streaming.binpb'), resolve(ROOT, 'src/gen/health.binpb')])).addToServer(
      grpcServer,
    );
    const grpcPort = await bindGrpc(grpcServer, config.grpc.host, config.grpc.port);
    cleanups.push(() => new Promise<void>((done) => grpcServer.tryShutdown(() => done())));

    const up = config.updates;
    const updates = await UpdateFeed.create({
      releasesDir: up.releases_dir,
      downloadsDir: up.downloads_dir,
      publicKey: up.ed25519_public_key,
      enabled: { stable: up.channels.stable.enabled, beta: up.channels.beta.enabled, alpha: up.channels.alpha.enabled },
      maxArtifactBytes: up.max_artifact_bytes,
      rescanIntervalMs: up.rescan_interval_ms,
      logger,
      metrics,
    });
    cleanups.push(() => updates.close());
    const readiness: ReadinessCheck[] = [
      { name: 'tts', check: async () => undefined },
      {
        name: 'llm',
        check: async () => (llm.name === 'degraded' ? 'no language model configured (OPENAI_API_KEY / OPENAI_BASE_URL / GEMINI_API_KEY)' : undefined),
      },
      { name: 'memory', check: async () => memory.ping?.() },
      { name: 'sessions', check: () => sessions.ping() },
      // Advisory: a bad update artifact is alerted on, but turns are still served.
      { name: 'updates', required: false, check: async () => updates.problem() },
    ];
    const http = createHttpServer({
      logger,
      metrics,
      version: VERSION,
      startedAt,
      readiness,
      status: async () => ({
        active_streams: service.activeTurns,
        collect_buffers: await collectStore.size(),
        providers: { llm: llm.name, tts: tts.name, memory: memory.name, sessions: sessions.name },
        updates: updates.status(),
      }),
      routes: [
        createAdminRoute({
          token: config.admin.token,
          forget: async (hardwareId) => {
            memoryUpdater?.cancel(hardwareId);
            await memory.forget(hardwareId);
          },
          logger,
        }),
        createUpdateRoute({ feed: updates, metrics, logger, title: up.title, publicBaseUrl: up.public_base_url, feedMaxAgeS: up.feed_max_age_s }),
        ...(config.http.operator_page.enabled
          ? [createOperatorPage({ pollIntervalMs: config.http.operator_page.poll_interval_ms, latencyWindowMs: config.http.operator_page.latency_window_ms })]
          : []),
      ],
    });
    const httpPort = await listenHttp(http, config.http.host, config.http.port);
    cleanups.push(
      () =>
        new Promise<void>((done) => {
          http.close(() => done());
          http.closeAllConnections();
        }),
    );
    logger.info({ grpc_port: grpcPort, http_port: httpPort, llm: llm.name, tts: tts.name, memory: memory.name }, 'server listening');

    let stopping: Promise<void> | undefined;
    const shutdown = () =>
      (stopping ??= (async () => {
        logger.info('shutting down');
        health.setStatus('', 'NOT_SERVING');
        interrupts.abortAll(new AppError('unavailable', 'the server is shutting down'));
        const forced = setTimeout(() => grpcServer.forceShutdown(), config.server.shutdown_grace_ms).unref();
        // Turns still being saved are kept; what they would teach the long-term memory is not waited for.
        memoryUpdater?.stop();
        await service.drain();
        for (const cleanup of cleanups.reverse()) await cleanup();
        clearTimeout(forced);
        logger.info('stopped');
      })());
    return { grpcPort, httpPort, service, metrics, llm, updates, shutdown };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    throw error;
  }
}
