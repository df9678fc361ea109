/**
 * Turn set-up, step by step: what runs between a COMMIT arriving and the model request leaving.
 * The pipeline object the server builds (`NexyService`, shipped settings, SQLite memory holding
 * a dozen earlier turns of the device), driven directly, with its neighbours' methods wrapped in
 * timers; the model and the speaker are stand-ins that cost nothing, so the figure is the set-up
 * alone. gRPC's own part is in the latency bench (COMMIT sent → model request).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { createMemoryStore } from '../src/memory/create-memory-store.js';
import { createLogger } from '../src/observability/logger.js';
import { Metrics } from '../src/observability/metrics.js';
import { NexyService } from '../src/pipeline/nexy-service.js';
import type { Speaker } from '../src/pipeline/ports.js';
import { SentenceSplitter, sentenceSplitterOptions } from '../src/pipeline/sentence-splitter.js';
import { validateStreamRequest, type StreamInput, type ValidationLimits } from '../src/protocol/validation.js';
import { createSessionBackend } from '../src/sessions/create-session-backend.js';
import type { LlmEvent, LlmProvider } from '../src/llm/provider.js';
import { createTextProcessing } from '../src/text-processing/text-processing.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The steps timed, in the order a turn runs them; `total` is COMMIT handed to the pipeline → model request. */
export const SETUP_STEPS = ['validation', 'lease', 'collect buffer', 'input filter', 'memory context', 'system prompt', 'total'] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];

/** Milliseconds per step, one sample per measured turn. */
export type SetupSamples = Record<SetupStep, number[]>;

/** Replaces `object[method]` by a wrapper that adds its time (until its promise settles) to `samples`. */
function timeMethod<T extends object>(object: T, method: keyof T & string, samples: number[]): void {
  const original = (object[method] as (...args: unknown[]) => unknown).bind(object);
  const timed = (...args: unknown[]) => {
    const start = performance.now();
    const result = original(...args);
    if (result instanceof Promise) return result.finally(() => samples.push(performance.now() - start));
    samples.push(performance.now() - start);
    return result;
  };
  Object.defineProperty(object, method, { value: timed, configurable: true, writable: true });
}

/** Adds the time of the calls of `run` together, as one sample per turn (collect: take + size). */
function perTurn(samples: number[]): { sink: number[]; close: () => void } {
  const sink: number[] = [];
  return {
    sink,
    close: () => {
      if (sink.length > 0) samples.push(sink.reduce((a, b) => a + b, 0));
      sink.length = 0;
    },
  };
}

const PROMPT = 'What is the weather like in Paris this weekend, and should I take an umbrella?';
const REPLY = 'Take an umbrella, it will rain on Saturday.';

/** Runs `warmup + turns` turns of one device one after the other; returns the measured turns' steps. */
export async function benchTurnSetup(turns: number, warmup: number): Promise<SetupSamples> {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-setup-'));
  const config = loadConfig({
    env: {},
    overrides: { logging: { level: 'silent' }, memory_management: { backend: 'sqlite', sqlite: { path: join(dir, 'nexy.sqlite') } } },
  });
  const logger = createLogger('silent');
  const memory = await createMemoryStore(config.memory_management, logger);
  const sessions = await createSessionBackend(config.session_management, logger);
  const textProcessing = createTextProcessing(config.text_processing, { baseDir: ROOT, now: () => new Date() });
  let requestedAt = 0;
  const llm: LlmProvider = {
    name: 'scripted',
    async *stream(): AsyncGenerator<LlmEvent> {
      requestedAt = performance.now();
      yield { type: 'text', text: REPLY };
    },
  };
  const speaker: Speaker = {
    async *speak() {},
    speakCached: () => Promise.reject(new Error('not used')),
  };
  const samples = Object.fromEntries(SETUP_STEPS.map((s) => [s, [] as number[]])) as SetupSamples;
  const scratch = Object.fromEntries(SETUP_STEPS.map((s) => [s, perTurn(samples[s])])) as Record<SetupStep, ReturnType<typeof perTurn>>;
  timeMethod(sessions.registry, 'acquire', scratch.lease.sink);
  timeMethod(sessions.collectStore, 'take', scratch['collect buffer'].sink);
  timeMethod(textProcessing.filter, 'check', scratch['input filter'].sink);
  timeMethod(memory, 'context', scratch['memory context'].sink);
  timeMethod(textProcessing.systemPrompt, 'render', scratch['system prompt'].sink);

  const splitter = sentenceSplitterOptions(config.pipeline);
  const service = new NexyService({
    config,
    logger,
    metrics: new Metrics(),
    collectStore: sessions.collectStore,
    registry: sessions.registry,
    interrupts: sessions.interrupts,
    memory,
    llm,
    textProcessing,
    speaker,
    newSegmenter: () => new SentenceSplitter(splitter),
  });
  const limits: ValidationLimits = {
    maxPromptChars: config.text_processing.max_prompt_chars,
    screenshotMaxBytes: config.text_processing.screenshot_max_bytes,
    maxScreenDimension: config.text_processing.max_screen_dimension,
  };
  try {
    for (let i = 0; i < warmup + turns; i++) {
      const input: StreamInput = { prompt: PROMPT, hardwareId: 'bench-device-1', sessionId: `setup-${i}`, phase: 2, chunkSeq: 0 };
      const start = performance.now();
      const validation = validateStreamRequest(input, input.sessionId, limits);
      scratch.validation.sink.push(performance.now() - start);
      if (!validation.ok) throw new Error(validation.problems.join('; '));
      for await (const _event of service.commit(validation.value, new AbortController().signal, logger)) {
        // drained: the turn must finish (and save) like a real one
      }
      scratch.total.sink.push(requestedAt - start);
      // The save of this turn is not part of the next one's set-up.
      await service.drain();
      for (const step of SETUP_STEPS) {
        if (i < warmup) scratch[step].sink.length = 0;
        else scratch[step].close();
      }
    }
    return samples;
  } finally {
    await sessions.close();
    await memory.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
