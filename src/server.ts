import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, type ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { AdmissionClock } from './admission/clock.js';
import { createAdmission, type Admission } from './admission/create-admission.js';
import { createTts } from './audio/create-tts.js';
import type { TtsProvider } from './audio/provider.js';
import { RenderPool } from './audio/render-pool.js';
import { isRendering, renderOptionsFromConfig, SpeechOutput, speechOutputOptionsFromConfig } from './audio/speech-output.js';
import type { Config } from './config/schema.js';
import { AppError } from './errors.js';
import { StreamingServiceService } from './gen/streaming.js';
import { createStreamingService } from './grpc/streaming-service.js';
import { tolerantDefinition } from './grpc/tolerant-decode.js';
import { grpcCredentials } from './grpc/tls.js';
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
import { FallbackLlm, type FallbackListener } from './llm/fallback-llm.js';
import type { LlmProvider } from './llm/provider.js';
import { LazyLlm } from './llm/lazy-llm.js';
import { DegradedProvider } from './llm/providers/degraded.js';
import { ScriptedProvider } from './llm/providers/scripted.js';
import { createTextProcessing } from './text-processing/text-processing.js';
import { UpdateFeed } from './update/update-feed.js';
import { PACKAGE_ROOT as ROOT } from './package-root.js';
import { createShutdown } from './shutdown.js';

export const VERSION: string = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The descriptors server reflection serves; copied beside the compiled modules by the build. */
const DESCRIPTORS = ['./gen/streaming.binpb', './gen/health.binpb'].map((path) => fileURLToPath(new URL(path, import.meta.url)));

export interface StartOptions {
  readonly logger?: Logger;
  /** Replace the configured language model (tests, benchmarks). */
  readonly llm?: LlmProvider;
  /** Replace the configured speech engine (tests). */
  readonly tts?: TtsProvider;
  /** The clock of the system prompt's date and time (tests). */
  readonly now?: () => Date;
  /** The time of rate buckets, token cache, quota periods and stream duration (tests move it). */
  readonly clock?: AdmissionClock;
}

export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly service: NexyService;
  readonly metrics: Metrics;
  readonly llm: LlmProvider;
  /** The client update feed (`reload()` after publishing without waiting for the rescan). */
  readonly updates: UpdateFeed;
  /**
   * Settles when the start-up work after the ports opened is done: the speech engine warmed up
   * and the default greeting cached (`audio_generation.warm_up_at_start`). Until then /ready is
   * 503 and the gRPC health status NOT_SERVING, while requests are already served (only slower).
   * Rejects when that work failed (an engine that cannot load): the server is not ready and the
   * caller decides (`nexy serve` exits 1).
   */
  readonly ready: Promise<void>;
  /** Limits, quotas and device tokens (tests: `admission.quotas?.flush()`). */
  readonly admission: Admission;
  /**
   * Re-reads the gRPC TLS certificate, key and client CA (SIGHUP). False without TLS; throws,
   * keeping the old ones, when they fail to load.
   */
  reloadTls(): boolean;
  /** Drain (see src/shutdown.ts): refuse new COMMITs, let answers finish within the grace, abort the rest, close everything. Idempotent. */
  shutdown(): Promise<void>;
}

type TextProcessingConfig = Config['text_processing'];

/** Hooks of {@link chooseLlm} the composition root wires to metrics. */
export interface LlmHooks {
  /** A turn moved on from one provider of the fallback chain to the next. */
  readonly onFallback?: FallbackListener;
  /** A provider's circuit breaker changed state. */
  readonly onBreakerChange?: (provider: string, state: string) => void;
  /** A provider whose module loads on first use was made (the start-up warm-up preloads it). */
  readonly onLazy?: (provider: LazyLlm) => void;
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
  for (const provider of providers) if (provider instanceof LazyLlm) hooks.onLazy?.(provider);
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
  // The answer's total limit (total_timeout_ms) is the turn's; the first-token limit is each attempt's.
  const timeouts = { firstTokenTimeoutMs: tp.first_token_timeout_ms };
  switch (name) {
    case 'openai':
      // openai and gemini import their SDKs: loaded only when configured (see LazyLlm).
      return new LazyLlm(name, async () => new (await import('./llm/providers/openai.js')).OpenAiProvider({
        baseUrl: tp.openai.base_url,
        apiKey: tp.openai.api_key,
        model: tp.openai.model,
        placeholderApiKey: tp.openai.placeholder_api_key,
        ...timeouts,
        logger,
      }));
    case 'gemini':
      return new LazyLlm(name, async () => new (await import('./llm/providers/gemini.js')).GeminiProvider({
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

async function bindGrpc(server: Server, host: string, port: number, credentials: ServerCredentials): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolvePort, reject) => {
    server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolvePort(bound)));
  });
}

/**
 * The composition root: the only place that reads config to choose implementations and builds
 * the object graph. Returns once both ports listen; the speech engine warms up after that (see
 * `RunningServer.ready`), so that an orchestrator sees a live port at once and a readiness
 * probe that tells the truth.
 */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logging.level);
  const metrics = new Metrics();
  metrics.maxActiveStreams.set(config.grpc.max_active_turns);
  const startedAt = Date.now();
  const cleanups: Array<() => Promise<void> | void> = [];

  try {
    const lazyLlms: LazyLlm[] = [];
    // First: a bad prompt template, action schema or filter pattern is a config error (exit 2).
    const textProcessing = createTextProcessing(config.text_processing, { baseDir: ROOT, now: options.now ?? (() => new Date()) });
    const llm =
      options.llm ??
      chooseLlm(config, logger, {
        onFallback: (from, to) => metrics.providerFallbacks.inc({ area: 'llm', from, to }),
        onBreakerChange: (provider, state) => metrics.providerBreakerOpen.set({ area: 'llm', provider }, state === 'open' ? 1 : 0),
        onLazy: (provider) => lazyLlms.push(provider),
      });
    const tts = options.tts ?? chooseTts(config, logger, metrics);
    const ag = config.audio_generation;
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
    const admission = createAdmission(config, { memory, registry: metrics.registry, logger, clock: options.clock });
    cleanups.push(() => admission.close());
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
      memory: admission.memory,
      memoryUpdater,
      llm,
      textProcessing,
      speaker,
      newSegmenter: () => new SentenceSplitter(splitterOptions),
    });

    const grpcServer = new Server({
      'grpc.max_receive_message_length': config.grpc.max_receive_message_bytes,
      'grpc.max_send_message_length': config.grpc.max_send_message_bytes,
      'grpc.keepalive_time_ms': config.grpc.keepalive_time_ms,
      'grpc.keepalive_timeout_ms': config.grpc.keepalive_timeout_ms,
    });
    grpcServer.addService(tolerantDefinition(StreamingServiceService), createStreamingService({ config, logger, metrics, service, guard: admission.guard }));
    // NOT_SERVING until the warm-up below is done (a load balancer waits; a client may still call).
    const healthServices = ['', 'streaming.StreamingService'];
    const health = new HealthImplementation(Object.fromEntries(healthServices.map((name) => [name, 'NOT_SERVING' as const])));
    health.addToServer(grpcServer);
    const credentials = grpcCredentials(config.grpc.tls);

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
    let warming: string | undefined = 'the speech engine is warming up';
    const readiness: ReadinessCheck[] = [
      { name: 'server', check: async () => (service.draining ? 'shutting down' : undefined) },
      { name: 'tts', check: async () => warming },
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
        ...(await admission.status()),
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
    // Both ports open together; each is closed on the way out even if the other failed to bind.
    const [httpBound, grpcBound] = await Promise.allSettled([
      listenHttp(http, config.http.host, config.http.port),
      bindGrpc(grpcServer, config.grpc.host, config.grpc.port, credentials.credentials),
    ]);
    cleanups.push(
      () =>
        new Promise<void>((done) => {
          if (!http.listening) return done();
          http.close(() => done());
          http.closeAllConnections();
        }),
    );
    if (httpBound.status === 'rejected') throw httpBound.reason;
    cleanups.push(() => new Promise<void>((done) => grpcServer.tryShutdown(() => done())));
    if (grpcBound.status === 'rejected') throw grpcBound.reason;
    const httpPort = httpBound.value;
    const grpcPort = grpcBound.value;
    logger.info(
      { grpc_port: grpcPort, http_port: httpPort, tls: credentials.tls, auth: config.auth.mode, llm: llm.name, tts: tts.name, memory: memory.name },
      'server listening',
    );

    const warmUp = new AbortController();
    const ready = (async () => {
      // Server reflection (buf curl, grpcurl) is tooling, and @grpc/reflection parses its own
      // protos with protobufjs: added once the ports are open (grpc-js takes services any time).
      const [{ ReflectionService }, { reflectionDefinition }] = await Promise.all([import('@grpc/reflection'), import('./grpc/reflection.js')]);
      new ReflectionService(reflectionDefinition(DESCRIPTORS)).addToServer(grpcServer);
      // The configured models' SDKs, loaded now rather than by the first turn.
      await Promise.all(lazyLlms.map((provider) => provider.preload()));
      if (ag.warm_up_at_start) {
        warmUp.signal.throwIfAborted();
        const started = performance.now();
        await tts.warm();
        // The greeting every client asks for at start: synthesize it now so it leaves from the cache.
        await speaker.warmCache(ag.welcome.default_text, {}, AbortSignal.any([warmUp.signal, AbortSignal.timeout(config.server.shutdown_grace_ms * 10)]));
        logger.info({ warm_up_ms: Math.round(performance.now() - started) }, 'speech engine warm');
      }
      // A shutdown that began meanwhile has said NOT_SERVING: that stays.
      warmUp.signal.throwIfAborted();
      warming = undefined;
      for (const name of healthServices) health.setStatus(name, 'SERVING');
      logger.info('server ready');
    })();
    ready.catch((error: unknown) => {
      warming = 'the start-up warm-up failed (see the log)';
      if (!warmUp.signal.aborted) logger.error({ err: error }, 'start-up warm-up failed');
    });

    const shutdown = createShutdown({
      logger,
      service,
      // A warm-up still running stops; its NOT_SERVING stays.
      onBegin: () => warmUp.abort(new AppError('unavailable', 'the server is shutting down')),
      graceMs: config.server.shutdown_grace_ms,
      abortWaitMs: config.server.shutdown_abort_wait_ms,
      health,
      healthServices,
      forceCloseCalls: () => grpcServer.forceShutdown(),
      beforeCleanup: [
        // Turns still being saved are kept; what they would teach the long-term memory is not waited for.
        ['stop memory updater', () => memoryUpdater?.stop()],
        ['wait for memory writes', () => service.drain()],
      ],
      cleanups: [...cleanups].reverse().map((run, i) => [`clean-up ${cleanups.length - i}`, run] as const),
    });
    return { grpcPort, httpPort, service, metrics, llm, updates, admission, reloadTls: credentials.reload, ready, shutdown };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    throw error;
  }
}
