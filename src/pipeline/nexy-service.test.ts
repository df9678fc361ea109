import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { HARDWARE_ID, RecordingLlm, testConfig } from '../../test/support/harness.js';
import { createTts } from '../audio/create-tts.js';
import { SpeechOutput, speechOutputOptionsFromConfig } from '../audio/speech-output.js';
import { AppError } from '../errors.js';
import { MemoryInterruptHub } from '../sessions/interrupt-hub.js';
import { createMemoryStore } from '../memory/create-memory-store.js';
import type { MemoryBackend, UsageRecord } from '../memory/store.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { MemoryCollectStore } from '../sessions/collect-store.js';
import { MemorySessionRegistry, type Lease } from '../sessions/session-registry.js';
import type { LlmEvent, LlmRequest } from '../llm/provider.js';
import { createTextProcessing } from '../text-processing/text-processing.js';
import { NexyService } from './nexy-service.js';
import { SentenceSplitter, sentenceSplitterOptions } from './sentence-splitter.js';
import type { ValidStreamRequest } from '../protocol/validation.js';

/** The in-process registry, except that `release` rejects the way a Redis outage makes it. */
class FailingReleaseRegistry extends MemorySessionRegistry {
  releases = 0;
  override async release(lease: Lease): Promise<void> {
    this.releases++;
    await super.release(lease);
    throw new AppError('unavailable', 'session store unavailable');
  }
}

/** A model that also reports token usage, as the real providers do. */
class UsageLlm extends RecordingLlm {
  override async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    yield* super.stream(request, signal);
    yield { type: 'usage', inputTokens: 7, outputTokens: 3, model: 'test-model' };
  }
}

const config = testConfig({ grpc: { max_active_turns: 1 }, memory_management: { backend: 'sqlite', sqlite: { path: ':memory:' }, updater: { enabled: false } } });
let memory: MemoryBackend;
let service: NexyService;
const registry = new FailingReleaseRegistry();
const usage: UsageRecord[] = [];
const collectStore = new MemoryCollectStore({ ttlMs: 60_000, sweepIntervalMs: 60_000, maxBuffers: 10, maxTextChars: 1000, maxTotalBytes: 1 << 20 });

before(async () => {
  const logger = createLogger('silent');
  memory = await createMemoryStore(config.memory_management, logger);
  const saveUsage = memory.saveUsage.bind(memory);
  memory.saveUsage = async (record) => {
    usage.push(record);
    await saveUsage(record);
  };
  const tts = createTts(config.audio_generation, { logger });
  await tts.warm();
  const splitter = sentenceSplitterOptions(config.pipeline);
  service = new NexyService({
    config,
    logger,
    metrics: new Metrics(),
    collectStore,
    registry,
    interrupts: new MemoryInterruptHub(),
    memory,
    llm: new UsageLlm('Hello there.'),
    textProcessing: createTextProcessing(config.text_processing, { baseDir: new URL('../..', import.meta.url).pathname, now: () => new Date() }),
    speaker: new SpeechOutput(tts, speechOutputOptionsFromConfig(config.audio_generation)),
    newSegmenter: () => new SentenceSplitter(splitter),
  });
});
after(async () => {
  await collectStore.close();
  await memory.close();
});

function commit(sessionId: string, prompt: string): ValidStreamRequest {
  return { phase: 'commit', hardwareId: HARDWARE_ID, sessionId, piece: prompt, prompt, chunkSeq: 0 };
}

test('regression: a session release that rejects neither leaks the active-turn slot nor skips saving the turn and its usage', async () => {
  const log = createLogger('silent');
  for (const [i, prompt] of ['first question', 'second question'].entries()) {
    const events = [];
    // max_active_turns is 1: a leaked slot would make the second COMMIT RESOURCE_EXHAUSTED.
    for await (const event of service.commit(commit(`release-${i}`, prompt), new AbortController().signal, log)) events.push(event.type);
    assert.equal(events.at(-1), 'end');
    assert.equal(service.activeTurns, 0);
  }
  assert.equal(registry.releases, 2);
  await service.drain();
  const context = await memory.context(HARDWARE_ID, { maxTurns: 10, maxChars: 10_000 });
  assert.deepEqual(
    context.messages.filter((m) => m.role === 'user').map((m) => m.content),
    ['first question', 'second question'],
  );
  assert.deepEqual(usage.map((u) => [u.sessionId, u.inputTokens, u.outputTokens]), [['release-0', 7, 3], ['release-1', 7, 3]]);
});
