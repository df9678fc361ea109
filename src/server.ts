import type { Logger } from 'pino';
import type { AdmissionClock } from './admission/clock.js';
import { createAdmission, type Admission } from './admission/create-admission.js';
import { createSpeech } from './audio/create-speech.js';
import type { TtsProvider } from './audio/provider.js';
import type { Config } from './config/schema.js';
import { AppError } from './errors.js';
import { createGrpcPort } from './grpc/grpc-port.js';
import { createOperationsPort } from './http/operations-port.js';
import { createLlm, createUpdaterLlm } from './llm/create-llm.js';
import type { LazyLlm } from './llm/lazy-llm.js';
import type { LlmProvider } from './llm/provider.js';
import { openMemory } from './memory/create-memory-store.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { NexyService } from './pipeline/nexy-service.js';
import { SentenceSplitter, sentenceSplitterOptions } from './pipeline/sentence-splitter.js';
import { createSessionBackend } from './sessions/create-session-backend.js';
import { createTextProcessing } from './text-processing/text-processing.js';
import type { UpdateFeed } from './update/update-feed.js';
import { PACKAGE_ROOT as ROOT, PACKAGE_VERSION } from './package-root.js';
import { createShutdown } from './shutdown.js';
import { startIdleTrim } from './malloc-trim.js';
import { WarmUp } from './warm-up.js';

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

/**
 * The composition root: the only place that reads config to choose implementations and builds
 * the object graph, one step per part (language model, speech, memory, admission, sessions, the
 * turn service, then the gRPC and HTTP ports). Returns once both ports listen; the speech engine
 * warms up after that (see `RunningServer.ready`), so that an orchestrator sees a live port at
 * once and a readiness probe that tells the truth.
 */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logging.level);
  const metrics = new Metrics();
  metrics.maxActiveStreams.set(config.grpc.max_active_turns);
  const startedAt = Date.now();
  // Run in reverse on the way out: the ports close first, the synthesis worker threads last.
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    // First: a bad prompt template, action schema or filter pattern is a config error (exit 2).
    const textProcessing = createTextProcessing(config.text_processing, { baseDir: ROOT, now: options.now ?? (() => new Date()) });
    const lazyLlms: LazyLlm[] = [];
    const llm = options.llm ?? createLlm(config.text_processing, { logger, ...metrics.providerHooks('llm'), onLazy: (lazy) => lazyLlms.push(lazy) });
    const speech = createSpeech(config.audio_generation, { tts: options.tts, logger, ...metrics.providerHooks('tts') });
    cleanups.push(() => speech.close());
    // A model the caller gave (tests) teaches the long-term memory too; else the configured one.
    const updaterModel = options.llm === undefined ? config.memory_management.updater.model : '';
    const updaterLlm = createUpdaterLlm(config.text_processing, updaterModel, llm, logger);
    const memory = await openMemory(config.memory_management, { logger, updaterLlm });
    cleanups.push(() => memory.close());
    const admission = createAdmission(config, { memory: memory.store, registry: metrics.registry, logger, clock: options.clock });
    cleanups.push(() => admission.close());
    const sessions = await createSessionBackend(config.session_management, logger);
    cleanups.push(() => sessions.close());
    const splitterOptions = sentenceSplitterOptions(config.pipeline);
    const service = new NexyService({
      config, logger, metrics, llm, textProcessing, speaker: speech.speaker, memory: admission.memory, memoryUpdater: memory.updater,
      collectStore: sessions.collectStore, registry: sessions.registry, interrupts: sessions.interrupts,
      newSegmenter: () => new SentenceSplitter(splitterOptions),
    });

    const grpc = createGrpcPort(config, { config, logger, metrics, service, guard: admission.guard });
    const warmUp = new WarmUp(logger);
    const http = await createOperationsPort(config, {
      logger, metrics, version: PACKAGE_VERSION, startedAt,
      service, warmUp, llm, tts: speech.tts, memory, sessions, admission,
    });
    // Both ports open together; each is closed on the way out even if the other failed to bind.
    cleanups.push(() => http.close(), () => grpc.close());
    const [httpBound, grpcBound] = await Promise.allSettled([http.listen(), grpc.bind()]);
    if (httpBound.status === 'rejected') throw httpBound.reason;
    if (grpcBound.status === 'rejected') throw grpcBound.reason;
    const [httpPort, grpcPort] = [httpBound.value, grpcBound.value];
    const providers = { llm: llm.name, tts: speech.tts.name, memory: memory.store.name };
    logger.info({ grpc_port: grpcPort, http_port: httpPort, tls: grpc.tls, auth: config.auth.mode, ...providers }, 'server listening');

    const { warm_up_at_start: warmSpeech, welcome } = config.audio_generation;
    const ready = warmUp.run(async (signal) => {
      await grpc.addReflection();
      // The configured models' SDKs, loaded now rather than by the first turn.
      await Promise.all(lazyLlms.map((provider) => provider.preload()));
      // The greeting every client asks for at start: synthesized now so that it leaves from the cache.
      if (warmSpeech) await speech.warm(welcome.default_text, AbortSignal.any([signal, AbortSignal.timeout(config.server.shutdown_grace_ms * 10)]));
    }, () => grpc.setServing());
    // Once warm, the C heap's free memory goes back to the system, and again after each busy spell.
    cleanups.push(startIdleTrim(config.server.idle_memory_trim_ms, ready, service));

    const shutdown = createShutdown({
      logger,
      service,
      // A warm-up still running stops; its NOT_SERVING stays.
      onBegin: () => warmUp.abort(new AppError('unavailable', 'the server is shutting down')),
      graceMs: config.server.shutdown_grace_ms,
      abortWaitMs: config.server.shutdown_abort_wait_ms,
      grpc,
      beforeCleanup: [
        // Turns still being saved are kept; what they would teach the long-term memory is not waited for.
        ['stop memory updater', () => memory.updater?.stop()],
        ['wait for memory writes', () => service.drain()],
      ],
      cleanups: [...cleanups].reverse().map((run, i) => [`clean-up ${cleanups.length - i}`, run] as const),
    });
    const { updates } = http;
    return { grpcPort, httpPort, service, metrics, llm, updates, admission, reloadTls: () => grpc.reloadTls(), ready, shutdown };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    throw error;
  }
}
