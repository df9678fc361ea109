import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { AppError } from '../errors.js';
import { createLogger } from '../observability/logger.js';
import { captureLog } from '../../test/support/log-capture.js';
import { fail, pieces, ScriptedLlm, waitFor, type LlmStep } from '../../test/support/llm-stubs.js';
import type { LlmProvider } from '../llm/provider.js';
import { createLongTermUpdater, createMemoryStore } from './create-memory-store.js';
import { LongTermUpdater, USAGE_SOURCE, type UpdaterSettings } from './long-term-updater.js';
import { defaultSection, type MemorySection } from '../../test/support/memory-store-suite.js';
import type { MemoryBackend, TurnRecord, UsageRecord } from './store.js';

const HW = 'HW-LONG-TERM';
const OTHER = 'HW-OTHER';
const BUDGET = { maxTurns: 12, maxChars: 6000 };

/** An answer of the scripted model: text, a failure, or a wait (for holding or timing out). */
type Answer = string | Error | (() => Promise<string>);

/** The updater's answer as a streamed model sends it: in pieces, then usage. */
const answerSteps = (answer: string): LlmStep[] => [...pieces(answer, 7), { type: 'usage', inputTokens: 10, outputTokens: 5, model: 'test' }];

/** A language model that answers from a script (one answer a request) and records its requests. */
const scriptedLlm = (...answers: Answer[]): ScriptedLlm =>
  new ScriptedLlm('scripted-test', (_request, call) => {
    const answer = answers[call] ?? '{"facts":[]}';
    if (answer instanceof Error) return [fail(answer)];
    return typeof answer === 'string' ? answerSteps(answer) : [waitFor(answer().then(answerSteps))];
  });

/** A promise a test resolves when it wants. */
function gate(): { wait: () => Promise<string>; open: (text: string) => void } {
  let open!: (text: string) => void;
  const promise = new Promise<string>((resolve) => (open = resolve));
  return { wait: () => promise, open };
}

const never = () => new Promise<string>(() => undefined);

/** `store` with some methods replaced; the rest still run on the real store. */
function delegate(store: MemoryBackend, overrides: Partial<MemoryBackend>): MemoryBackend {
  return new Proxy(store, {
    get(target, property: keyof MemoryBackend) {
      const value = overrides[property] ?? target[property];
      return typeof value === 'function' && !(property in overrides) ? value.bind(target) : value;
    },
  });
}

let clock = Date.UTC(2025, 0, 1);

function turn(hardwareId: string, userText: string, assistantText = 'Okay.'): TurnRecord {
  // A second apart, so that the store's newest-first order is the order they were told in.
  const now = new Date((clock += 1000));
  return { hardwareId, sessionId: 's', userText, assistantText, interrupted: false, startedAt: now, endedAt: now, provider: 'test' };
}

describe('LongTermUpdater', () => {
  let store: MemoryBackend;
  let logs: Array<{ msg: string; level: string; err?: { kind?: string } }>;
  const logger = () => captureLog('debug', (record) => logs.push(record as (typeof logs)[number])).logger;

  function section(overrides: Partial<UpdaterSettings> = {}): MemorySection {
    const base = defaultSection();
    return { ...base, backend: 'sqlite', sqlite: { ...base.sqlite, path: ':memory:' }, updater: { ...base.updater, ...overrides } };
  }

  function updater(llm: LlmProvider | undefined, overrides: Partial<UpdaterSettings> = {}, on: MemoryBackend = store): LongTermUpdater {
    return new LongTermUpdater({ store: on, llm, logger: logger(), settings: section(overrides).updater });
  }

  /** Saves the turn, as the pipeline does, then hands it to the updater. */
  async function told(u: LongTermUpdater, t: TurnRecord): Promise<void> {
    await store.saveTurn(t);
    u.turnSaved(t);
  }

  const warnings = () => logs.filter((l) => l.level === 'warn').map((l) => l.msg);

  /** An updater whose model never answers, busy with a first turn of HW. */
  async function busyUpdater(overrides: Partial<UpdaterSettings> = {}) {
    const llm = scriptedLlm(never);
    const u = updater(llm, overrides);
    const started = llm.started();
    await told(u, turn(HW, 'my name is alex'));
    await started;
    return { llm, u };
  }

  beforeEach(async () => {
    logs = [];
    store = await createMemoryStore(section());
  });
  afterEach(() => store.close());

  it('asks the model with what is known and the new turn, and stores its facts and summary', async () => {
    const llm = scriptedLlm('```json\n{"facts":["User likes green tea"],"summary":"The user talked about tea."}\n```');
    const usage: UsageRecord[] = [];
    const recording = delegate(store, { saveUsage: async (record: UsageRecord) => void usage.push(record) });
    const u = updater(llm, {}, recording);
    await store.addFacts(HW, ['User lives in Berlin']);
    await store.setSummary(HW, 'Earlier they asked about the weather.');
    await told(u, turn(HW, 'I like green tea', 'Noted, green tea.'));
    await u.drain();

    assert.equal(llm.requests.length, 1);
    const [request] = llm.requests;
    assert.equal(request.system, section().updater.system_prompt);
    assert.deepEqual(request.history, []);
    assert.match(request.prompt, /- User lives in Berlin/);
    assert.match(request.prompt, /Earlier they asked about the weather\./);
    assert.match(request.prompt, /User: I like green tea\nAssistant: Noted, green tea\./);
    const context = await store.context(HW, BUDGET);
    assert.deepEqual(context.facts, ['User lives in Berlin', 'User likes green tea']);
    assert.equal(context.summary, 'The user talked about tea.');
    assert.deepEqual(
      usage.map((r) => [r.hardwareId, r.source, r.inputTokens, r.outputTokens, r.model]),
      [[HW, USAGE_SOURCE, 10, 5, 'test']],
      'the model call is counted as usage',
    );
    assert.deepEqual(warnings(), []);
  });

  it('masks secrets in what the model answers before it is stored', async () => {
    const llm = scriptedLlm('{"facts":["User\'s wifi password is hunter2"],"summary":"Gave the key sk-abcdefghijklmnopqrstuvwx."}');
    const u = updater(llm);
    await told(u, turn(HW, 'remember my wifi password is hunter2'));
    await u.drain();
    const context = await store.context(HW, BUDGET);
    assert.doesNotMatch(JSON.stringify([context.facts, context.summary]), /hunter2|sk-abc/);
    assert.match(context.facts[0], /\[masked password\]/);
  });

  it('falls back to the rules when the answer is not the JSON asked for; the summary stays', async () => {
    const u = updater(scriptedLlm('Sure! I will remember that.'));
    await store.setSummary(HW, 'Old summary.');
    await told(u, turn(HW, 'my name is alex'));
    await u.drain();
    const context = await store.context(HW, BUDGET);
    assert.deepEqual(context.facts, ["User's name is Alex"]);
    assert.equal(context.summary, 'Old summary.');
    assert.deepEqual(warnings(), ['memory model answer is not the expected JSON']);
  });

  it('falls back to the rules when the model fails, and logs it', async () => {
    const u = updater(scriptedLlm(new AppError('unavailable', 'model down')));
    await told(u, turn(HW, 'мне нравится зелёный чай'));
    await u.drain();
    assert.deepEqual((await store.context(HW, BUDGET)).facts, ['Пользователю нравится зелёный чай']);
    assert.deepEqual(warnings(), ['memory model update failed']);
  });

  it('uses the rules when there is no model, and never a model in mode rules', async () => {
    const llm = scriptedLlm();
    const withoutModel = updater(undefined);
    const rulesOnly = updater(llm, { mode: 'rules' });
    assert.equal(withoutModel.method, 'rules');
    assert.equal(rulesOnly.method, 'rules');
    await told(withoutModel, turn(HW, 'I like jazz'));
    await told(rulesOnly, turn(OTHER, 'call me Sam'));
    await Promise.all([withoutModel.drain(), rulesOnly.drain()]);
    assert.deepEqual((await store.context(HW, BUDGET)).facts, ['User likes jazz']);
    assert.deepEqual((await store.context(OTHER, BUDGET)).facts, ["User's name is Sam"]);
    assert.equal(llm.requests.length, 0);
  });

  it('mode llm learns nothing when the model fails', async () => {
    const u = updater(scriptedLlm('not json'), { mode: 'llm' });
    assert.equal(u.method, 'llm');
    await told(u, turn(HW, 'my name is alex'));
    await u.drain();
    assert.deepEqual((await store.context(HW, BUDGET)).facts, []);
  });

  it('runs one update per hardware id at a time: turns arriving meanwhile join the next one', async () => {
    const first = gate();
    const other = gate();
    const llm = scriptedLlm(first.wait, other.wait, '{"facts":["User likes tea and cake"]}');
    const u = updater(llm, { max_concurrent: 2 });
    const started = llm.started();
    await told(u, turn(HW, 'I like tea'));
    await started;
    const otherStarted = llm.started();
    await told(u, turn(OTHER, 'I like coffee'));
    await otherStarted;
    await told(u, turn(HW, 'I like cake'));
    await told(u, turn(HW, 'and biscuits'));
    assert.equal(llm.requests.length, 2, 'the second turn of HW waits: one update per id');
    assert.equal(u.pending, 3);

    first.open('{"facts":["User likes tea"]}');
    other.open('{"facts":["User likes coffee"]}');
    await u.drain();
    assert.equal(llm.requests.length, 3, 'the two waiting turns made one update');
    assert.match(llm.requests[2].prompt, /User: I like cake[\s\S]*User: and biscuits/);
    assert.deepEqual((await store.context(HW, BUDGET)).facts, ['User likes tea', 'User likes tea and cake']);
    assert.deepEqual((await store.context(OTHER, BUDGET)).facts, ['User likes coffee']);
  });

  it('bounds the queue: past queue_max a turn is not learnt from, and that is logged', async () => {
    const first = gate();
    const llm = scriptedLlm(first.wait, '{"facts":["B"]}', '{"facts":["C"]}');
    const u = updater(llm, { max_concurrent: 1, queue_max: 1 });
    const started = llm.started();
    await told(u, turn('HW-A', 'a'));
    await started;
    await told(u, turn('HW-B', 'b'));
    await told(u, turn('HW-C', 'c'));
    assert.deepEqual(warnings(), ['memory update queue full; turn not learnt from']);
    first.open('{"facts":["A"]}');
    await u.drain();
    assert.equal(llm.requests.length, 2);
    assert.deepEqual((await store.context('HW-C', BUDGET)).facts, []);
  });

  it('a model slower than timeout_ms is given up on and the rules step in', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { llm, u } = await busyUpdater({ timeout_ms: 5000 });
    t.mock.timers.tick(5000);
    await u.drain();
    assert.equal((llm.aborted[0] as AppError).kind, 'timeout');
    assert.deepEqual((await store.context(HW, BUDGET)).facts, ["User's name is Alex"]);
    assert.equal(logs.find((l) => l.msg === 'memory model update failed')?.err?.kind, 'timeout');
  });

  it('stop aborts running updates, drops waiting ones and ignores later turns, quietly', async () => {
    const { llm, u } = await busyUpdater();
    await told(u, turn(HW, 'I like jazz'));
    u.stop();
    await u.drain();
    await told(u, turn(OTHER, 'I like tea'));
    assert.equal(u.pending, 0);
    assert.equal(llm.requests.length, 1);
    assert.equal(llm.aborted.length, 1);
    assert.deepEqual((await store.context(HW, BUDGET)).facts, [], 'no rules fallback after a stop');
    assert.deepEqual(warnings(), []);
  });

  it('cancel drops what is queued for one id (before a forget)', async () => {
    const { llm, u } = await busyUpdater();
    u.cancel(HW);
    await u.drain();
    assert.deepEqual((await store.context(HW, BUDGET)).facts, []);
    await told(u, turn(HW, 'I like jazz'));
    await u.drain();
    assert.equal(llm.requests.length, 2, 'later turns are learnt from again');
  });

  it('a failing store is logged, never thrown', async () => {
    const failing = delegate(store, { addFacts: () => Promise.reject(new AppError('unavailable', 'memory database unavailable')) });
    const u = updater(undefined, {}, failing);
    u.turnSaved(turn(HW, 'my name is alex'));
    await u.drain();
    assert.deepEqual(warnings(), ['memory update failed']);
  });

  it('ignores turns with nothing the user said', async () => {
    const llm = scriptedLlm();
    const u = updater(llm);
    u.turnSaved(turn(HW, '   '));
    assert.equal(u.pending, 0);
  });
});

describe('createLongTermUpdater', () => {
  const logger = createLogger('silent');
  it('is off when disabled or when nothing is stored', async () => {
    const base = defaultSection();
    const store = await createMemoryStore({ ...base, backend: 'none' });
    assert.equal(createLongTermUpdater({ ...base, backend: 'none' }, { store, logger }), undefined);
    assert.equal(createLongTermUpdater({ ...base, updater: { ...base.updater, enabled: false } }, { store, logger }), undefined);
    assert.ok(createLongTermUpdater(base, { store, logger }) instanceof LongTermUpdater);
  });
});
