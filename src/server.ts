import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { EspeakTts, espeakOptionsFromConfig } from './audio/providers/espeak.js';
import type { TtsProvider } from './audio/provider.js';
import { SpeechOutput, speechOutputOptionsFromConfig } from './audio/speech-output.js';
import type { Config } from './config/schema.js';
import { AppError } from './errors.js';
import { StreamingServiceService } from './gen/streaming.js';
import { reflectionDefinition } from './grpc/reflection.js';
import { createStreamingService } from './grpc/streaming-service.js';
import { createHttpServer, type ReadinessCheck } from './http/http-server.js';
import { MemoryInterruptHub } from './interrupts/interrupt-hub.js';
import { createMemoryStore } from './memory/create-memory-store.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { NexyService } from './pipeline/nexy-service.js';
import { SentenceSplitter, sentenceSplitterOptions } from './pipeline/sentence-splitter.js';
import { MemoryCollectStore } from './sessions/collect-store.js';
import { MemorySessionRegistry } from './sessions/session-registry.js';
import type { LlmProvider } from './text-processing/provider.js';
import { DegradedProvider } from './text-processing/providers/degraded.js';
import { OpenAiProvider } from './text-processing/providers/openai.js';
import { ScriptedProvider } from './text-processing/providers/scripted.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const VERSION: string = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface StartOptions {
  readonly logger?: Logger;
  /** Replace the configured language model (tests, benchmarks). */
  readonly llm?: LlmProvider;
  /** Replace the configured speech engine (tests). */
  readonly tts?: TtsProvider;
}

export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly service: NexyService;
  readonly metrics: Metrics;
  readonly llm: LlmProvider;
  /** Stop accepting, abort running turns, flush memory, close everything. Idempotent. */
  shutdown(): Promise<void>;
}

/** `auto`: OpenAI-compatible when a key or a base URL is configured, else the degraded notice. */
export function chooseLlm(config: Config, logger: Logger): LlmProvider {
  const tp = config.text_processing;
  const openai = () =>
    new OpenAiProvider({
      baseUrl: tp.openai.base_url,
      apiKey: tp.openai.api_key,
      model: tp.openai.model,
      placeholderApiKey: tp.openai.placeholder_api_key,
      firstTokenTimeoutMs: tp.first_token_timeout_ms,
      totalTimeoutMs: tp.total_timeout_ms,
    });
  switch (tp.provider) {
    case 'openai':
      return openai();
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
    case 'auto':
      if (tp.openai.api_key !== '' || tp.openai.base_url !== '') return openai();
      logger.warn(
        'no language model configured (set OPENAI_API_KEY or OPENAI_BASE_URL): every answer is a spoken notice; welcome and everything else work',
      );
      return new DegradedProvider({ notice: tp.degraded_notice });
  }
}

function chooseTts(config: Config): TtsProvider {
  return new EspeakTts(espeakOptionsFromConfig(config.audio_generation));
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
  const startedAt = Date.now();
  const cleanups: Array<() => Promise<void> | void> = [];

  try {
    const llm = options.llm ?? chooseLlm(config, logger);
    const tts = options.tts ?? chooseTts(config);
    const ag = config.audio_generation;
    await tts.warm();
    const speaker = new SpeechOutput(tts, speechOutputOptionsFromConfig(ag));
    const memory = await createMemoryStore(config.memory_management, logger);
    cleanups.push(() => memory.close());
    const pruner = setInterval(() => {
      memory.prune(new Date()).then(
        (pruned) => logger.info({ pruned }, 'memory pruned'),
        (error: unknown) => logger.warn({ err: error }, 'memory prune failed'),
      );
    }, config.memory_management.prune_interval_ms).unref();
    cleanups.push(() => clearInterval(pruner));
    const sm = config.session_management;
    if (sm.backend === 'redis') {
      throw new AppError('unavailable', 'session_management.backend "redis" is not available yet; use "memory"');
    }
    const collectStore = new MemoryCollectStore({
      ttlMs: sm.collect_ttl_ms,
      sweepIntervalMs: sm.collect_sweep_interval_ms,
      maxBuffers: sm.collect_max_buffers,
      maxTextChars: sm.collect_max_text_chars,
      maxTotalBytes: sm.collect_max_total_bytes,
    });
    collectStore.start();
    cleanups.push(() => collectStore.close());
    const interrupts = new MemoryInterruptHub();
    const splitterOptions = sentenceSplitterOptions(config.pipeline);
    const service = new NexyService({
      config,
      logger,
      metrics,
      collectStore,
      registry: new MemorySessionRegistry(),
      interrupts,
      memory,
      llm,
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

    const readiness: ReadinessCheck[] = [
      { name: 'tts', check: async () => undefined },
      {
        name: 'llm',
        check: async () => (llm.name === 'degraded' ? 'no language model configured (OPENAI_API_KEY / OPENAI_BASE_URL)' : undefined),
      },
      { name: 'memory', check: async () => memory.ping?.() },
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
        providers: { llm: llm.name, tts: tts.name, memory: memory.name, sessions: sm.backend },
      }),
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
        await service.drain();
        for (const cleanup of cleanups.reverse()) await cleanup();
        clearTimeout(forced);
        logger.info('stopped');
      })());
    return { grpcPort, httpPort, service, metrics, llm, shutdown };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    throw error;
  }
}
