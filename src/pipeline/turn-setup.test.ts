import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { loadConfig } from '../config/load.js';
import { createMemoryStore } from '../memory/create-memory-store.js';
import type { MemoryBackend } from '../memory/store.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { createSessionBackend, type SessionBackend } from '../sessions/create-session-backend.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../llm/provider.js';
import { createTextProcessing } from '../text-processing/text-processing.js';
import { NexyService } from './nexy-service.js';
import type { Speaker } from './ports.js';
import { SentenceSplitter, sentenceSplitterOptions } from './sentence-splitter.js';
import type { ValidStreamRequest } from '../protocol/validation.js';

// What runs between a COMMIT and the model request (issue #10: turn set-up), with the real
// in-process session backend and SQLite memory; the model and the speaker are stand-ins.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(join(tmpdir(), 'nexy-setup-test-'));
const config = loadConfig({ env: {}, overrides: { logging: { level: 'silent' }, memory_management: { backend: 'sqlite', sqlite: { path: join(dir, 'm.sqlite') } } } });
const logger = createLogger('silent');
let memory: MemoryBackend;
let sessions: SessionBackend;

before(async () => {
  memory = await createMemoryStore(config.memory_management, logger);
  sessions = await createSessionBackend(config.session_management, logger);
});
after(async () => {
  await sessions.close();
  await memory.close();
  rmSync(dir, { recursive: true, force: true });
});

const speaker: Speaker = { async *speak() {}, speakCached: () => Promise.reject(new Error('not used')) };

function service(llm: LlmProvider): NexyService {
  return new NexyService(serviceDeps(llm));
}

const commit = (hardwareId: string, prompt: string): ValidStreamRequest => ({ phase: 'commit', hardwareId, sessionId: `s-${hardwareId}`, piece: prompt, prompt, chunkSeq: 0 });

class RecordingModel implements LlmProvider {
  readonly name = 'recording';
  readonly requests: LlmRequest[] = [];
  async *stream(request: LlmRequest): AsyncGenerator<LlmEvent> {
    this.requests.push(request);
    yield { type: 'text', text: 'Noted.' };
  }
}

async function drain(turn: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of turn) {
    // read to the end
  }
}

test('turn set-up: the memory context is asked for before the COLLECT buffer is taken, not after', async () => {
  const events: string[] = [];
  const take = sessions.collectStore.take.bind(sessions.collectStore);
  const context = memory.context.bind(memory);
  const collectStore = Object.assign(Object.create(sessions.collectStore) as typeof sessions.collectStore, {
    take: async (...args: Parameters<typeof take>) => {
      events.push('take started');
      const taken = await take(...args);
      events.push('take done');
      return taken;
    },
  });
  // A getter of the real store reads its private fields: asked of the store itself.
  Object.defineProperty(collectStore, 'buffered', { get: () => sessions.collectStore.buffered });
  const store = Object.assign(Object.create(memory) as MemoryBackend, {
    context: (...args: Parameters<typeof context>) => {
      events.push('context asked');
      return context(...args);
    },
  });
  const llm = new RecordingModel();
  const nexy = new NexyService({ ...serviceDeps(llm), collectStore, memory: store });
  await drain(nexy.commit(commit('hw-overlap', 'what is the time'), new AbortController().signal, logger));
  assert.deepEqual(events, ['context asked', 'take started', 'take done']);
  assert.equal(llm.requests.length, 1);
});

test('turn set-up: the context fetched alongside the buffer is what the model gets', async () => {
  const llm = new RecordingModel();
  const nexy = service(llm);
  await drain(nexy.commit(commit('hw-context', 'my favourite colour is green'), new AbortController().signal, logger));
  await nexy.drain();
  await drain(nexy.commit(commit('hw-context', 'and what is the weather'), new AbortController().signal, logger));
  assert.deepEqual(
    llm.requests[1].history.map((m) => m.content),
    ['my favourite colour is green', 'Noted.'],
  );
});

function serviceDeps(llm: LlmProvider) {
  const splitter = sentenceSplitterOptions(config.pipeline);
  return {
    config,
    logger,
    metrics: new Metrics(),
    collectStore: sessions.collectStore,
    registry: sessions.registry,
    interrupts: sessions.interrupts,
    memory,
    llm,
    textProcessing: createTextProcessing(config.text_processing, { baseDir: ROOT, now: () => new Date() }),
    speaker,
    newSegmenter: () => new SentenceSplitter(splitter),
  };
}
