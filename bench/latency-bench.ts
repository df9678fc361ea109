import { Worker } from 'node:worker_threads';
import { createLlm } from '../src/llm/create-llm.js';
import { createLogger } from '../src/observability/logger.js';
import { SentenceSplitter, sentenceSplitterOptions } from '../src/pipeline/sentence-splitter.js';
import { HARDWARE_ID, startTestServer, testConfig } from '../test/support/harness.js';
import type { BenchJob, BenchTiming } from './bench-client.js';
import { SentenceEndClock } from './sentence-end-clock.js';

/** The scenario: the scripted model emits a five-sentence reply at once. */
export const REPLY =
  'Sure, here is what I found about your question. The capital of France is Paris. ' +
  'It has been the capital for many centuries. Paris is also the largest city in the country. ' +
  'Let me know if you would like to hear more.';

/**
 * Pipeline settings measured: the shipped ones (the first fragment may end at the first comma),
 * and the earlier default that waited for 24 characters (the whole first sentence here).
 */
export const VARIANTS: ReadonlyArray<{ readonly label: string; readonly pipeline: { readonly first_fragment_min_chars?: number } }> = [
  { label: 'shipped config', pipeline: {} },
  { label: 'first_fragment_min_chars: 24 (the default before)', pipeline: { first_fragment_min_chars: 24 } },
];

/** Latency samples of one variant, in milliseconds. */
export interface TurnSamples {
  readonly label: string;
  /** The first segment the server speaks (what the first audio is made of). */
  readonly firstSegment: string;
  /** COMMIT sent → first audio chunk received. */
  readonly firstAudioMs: number[];
  /** The model yields the token that completes its first segment → that segment's first audio chunk received. */
  readonly sentenceEndToAudioMs: number[];
  /** COMMIT sent → the server asks the model: gRPC in plus the turn's set-up. */
  readonly commitToModelMs: number[];
}

/** What `benchLatency` measured. */
export interface LatencySamples {
  /** One entry per entry of `VARIANTS`. */
  readonly turns: TurnSamples[];
  /** GenerateWelcomeAudio (default greeting, cached) sent → first audio chunk received. */
  readonly welcomeFirstChunkMs: number[];
  /** Calls that did not end with status OK (should be 0). */
  readonly failedCalls: number;
}

/** Runs jobs one at a time on the client thread. */
class BenchClient {
  readonly #worker: Worker;
  #pending: { resolve: (timing: BenchTiming) => void; reject: (error: unknown) => void } | undefined;

  constructor(address: string) {
    // A worker does not inherit `--import tsx` on Node 20: it registers tsx, then loads the client.
    const bootstrap = [
      `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};`,
      'register();',
      `await import(${JSON.stringify(new URL('./bench-client.ts', import.meta.url).href)});`,
    ].join('\n');
    this.#worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), { workerData: address });
    this.#worker.on('message', (timing: BenchTiming) => this.#pending?.resolve(timing));
    this.#worker.on('error', (error) => this.#pending?.reject(error));
  }

  run(job: BenchJob): Promise<BenchTiming> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    this.#worker.postMessage({ kind: 'close' } satisfies BenchJob);
    await this.#worker.terminate();
  }
}

/**
 * The whole server in-process (loopback gRPC, embedded eSpeak, SQLite memory as shipped) and a
 * client on its own thread: per variant, `turns` measured COMMIT turns after `warmup`; then as
 * many welcome calls.
 */
export async function benchLatency(turns: number, warmup: number): Promise<LatencySamples> {
  const result: LatencySamples = { turns: [], welcomeFirstChunkMs: [], failedCalls: 0 };
  let failed = 0;
  for (const [index, variant] of VARIANTS.entries()) {
    const config = testConfig({
      memory_management: { backend: 'sqlite' },
      text_processing: { scripted: { reply: REPLY, first_token_delay_ms: 0, token_delay_ms: 0 } },
      pipeline: variant.pipeline,
      audio_generation: { warm_up_at_start: true },
      // One device asking as fast as it can is what the rate limits stop; the bench measures latency.
      limits: { enabled: false },
    });
    const splitter = sentenceSplitterOptions(config.pipeline);
    const llm = new SentenceEndClock(createLlm(config.text_processing, { logger: createLogger('silent') }), splitter);
    const server = await startTestServer(config, { llm });
    const client = new BenchClient(server.address);
    const firstSegment = new SentenceSplitter(splitter).push(REPLY)[0] ?? '';
    const samples: TurnSamples = { label: variant.label, firstSegment, firstAudioMs: [], sentenceEndToAudioMs: [], commitToModelMs: [] };
    try {
      for (let i = 0; i < warmup + turns; i++) {
        const prompt = `benchmark question number ${i}`;
        const timing = await client.run({ kind: 'turn', prompt, sessionId: `bench-${index}-${i}`, hardwareId: HARDWARE_ID });
        if (!timing.ok) failed++;
        if (i < warmup) continue;
        samples.firstAudioMs.push(timing.firstAudioAt - timing.sentAt);
        const end = llm.firstSegmentAt.get(prompt);
        if (end !== undefined) samples.sentenceEndToAudioMs.push(timing.firstAudioAt - end);
        const requested = llm.requestedAt.get(prompt);
        if (requested !== undefined) samples.commitToModelMs.push(requested - timing.sentAt);
      }
      result.turns.push(samples);
      if (index > 0) continue;
      for (let i = 0; i < warmup + turns; i++) {
        const timing = await client.run({ kind: 'welcome' });
        if (!timing.ok) failed++;
        if (i >= warmup) result.welcomeFirstChunkMs.push(timing.firstAudioAt - timing.sentAt);
      }
    } finally {
      await client.close();
      await server.close();
    }
  }
  return { ...result, failedCalls: failed };
}
