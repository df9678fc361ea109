import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds, fine-grained where a voice assistant's budget is. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
