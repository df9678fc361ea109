import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds, fine-grained where a voice assistant's budget is. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
/** Byte buckets, 4 KiB (one audio chunk) to 16 MiB. */
const BYTE_BUCKETS = [4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

/**
 * The server's Prometheus metrics. Each server instance owns its registry, so several servers in
 * one process (tests) never collide.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'nexy_requests_total',
    help: 'RPCs finished, by RPC and gRPC status',
    labelNames: ['rpc', 'status'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'nexy_errors_total',
    help: 'Errors by kind (quiet stops after data included)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly interrupts = new Counter({
    name: 'nexy_interrupts_total',
    help: 'Turns stopped by InterruptSession',
    registers: [this.registry],
  });
  readonly memoryContextSkipped = new Counter({
    name: 'nexy_memory_context_skipped_total',
    help: 'Turns that went on without memory because the store was slow or failed',
    registers: [this.registry],
  });
  readonly activeStreams = new Gauge({
    name: 'nexy_active_streams',
    help: 'StreamAudio turns running now',
    registers: [this.registry],
  });
  readonly collectBuffers = new Gauge({
    name: 'nexy_collect_buffers',
    help: 'COLLECT buffers held now',
    registers: [this.registry],
  });
  readonly firstAudio = new Histogram({
    name: 'nexy_first_audio_seconds',
    help: 'From a COMMIT arriving to its first audio chunk being written',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly llmFirstToken = new Histogram({
    name: 'nexy_llm_first_token_seconds',
    help: 'From the LLM request to its first text',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly ttsFirstAudio = new Histogram({
    name: 'nexy_tts_first_audio_seconds',
    help: 'From a sentence going to TTS to its first audio',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly turnSeconds = new Histogram({
    name: 'nexy_turn_seconds',
    help: 'Whole StreamAudio COMMIT turns',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  /** Reply bytes held for slow clients now: the memory backpressure keeps bounded. */
  readonly streamQueuedBytes = new Gauge({
    name: 'nexy_stream_queued_bytes',
    help: 'Reply bytes written but not yet taken by HTTP/2, all streams together',
    registers: [this.registry],
  });
  /** Per turn; grpc.stream_high_water_bytes plus one message at most. */
  readonly streamQueuedPeakBytes = new Histogram({
    name: 'nexy_stream_queued_peak_bytes',
    help: 'The most reply bytes queued at once for one StreamAudio COMMIT turn',
    buckets: BYTE_BUCKETS,
    registers: [this.registry],
  });

  /** `grpc.max_active_turns`, so saturation is `nexy_active_streams / nexy_max_active_streams`. */
  readonly maxActiveStreams = new Gauge({
    name: 'nexy_max_active_streams',
    help: 'StreamAudio turns allowed at once (grpc.max_active_turns)',
    registers: [this.registry],
  });
  /**
   * A fallback chain moved from one provider to the next. The chains call
   * `metrics.providerFallbacks.inc({ area: 'llm', from: 'openai', to: 'gemini' })` from their
   * `onFallback` hook.
   */
  readonly providerFallbacks = new Counter({
    name: 'nexy_provider_fallbacks_total',
    help: 'Requests that fell back from one provider to the next',
    labelNames: ['area', 'from', 'to'] as const,
    registers: [this.registry],
  });
  /** Set by the circuit breakers: `metrics.providerBreakerOpen.set({ area, provider }, open ? 1 : 0)`. */
  readonly providerBreakerOpen = new Gauge({
    name: 'nexy_provider_breaker_open',
    help: '1 while the circuit breaker of a provider is open (requests skip it)',
    labelNames: ['area', 'provider'] as const,
    registers: [this.registry],
  });
  /** Refreshed by every /ready and every scrape of /metrics. */
  readonly ready = new Gauge({
    name: 'nexy_ready',
    help: '1 when the server can serve turns (every required readiness check passes), else 0',
    registers: [this.registry],
  });
  readonly updateLatestBuild = new Gauge({
    name: 'nexy_update_latest_build',
    help: 'Build number advertised on an enabled update channel (0: none)',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly updateArtifactValid = new Gauge({
    name: 'nexy_update_artifact_valid',
    help: "1 when an enabled channel's newest declared release verified (size, sha256, ed25519), else 0",
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly updateDownloads = new Counter({
    name: 'nexy_update_downloads_total',
    help: 'Update artifact downloads started (requests from byte 0), by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Hooks for a provider chain (`area`: llm, tts): count its fallbacks, show its open breakers. */
  providerHooks(area: 'llm' | 'tts'): {
    onFallback: (from: string, to: string) => void;
    onBreakerChange: (provider: string, state: string) => void;
  } {
    return {
      onFallback: (from, to) => this.providerFallbacks.inc({ area, from, to }),
      onBreakerChange: (provider, state) => this.providerBreakerOpen.set({ area, provider }, state === 'open' ? 1 : 0),
    };
  }
}
