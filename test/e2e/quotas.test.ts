import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ManualClock } from '../../src/admission/clock.js';
import { NexyClient, NexyClientError } from '../../src/client/nexy-client.js';
import type { DeepPartial } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { RequestPhase, type StreamRequest } from '../../src/gen/streaming.js';
import type { LlmEvent, LlmProvider } from '../../src/llm/provider.js';
import { HARDWARE_ID, kinds, readStream, startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { PG_URL, probePostgres, withPg } from '../support/postgres.js';

/**
 * Quotas per device per day, week and month over real gRPC, with the counters in SQLite,
 * PostgreSQL (a schema of its own) or, with memory backend none, in the process. The clock is
 * the test's: it starts on a Monday at noon and moves across the period ends.
 */

type Overrides = DeepPartial<{ -readonly [K in keyof Config]: Config[K] }>;
type MemoryOverrides = NonNullable<Overrides['memory_management']>;
type QuotaOverrides = NonNullable<Overrides['quotas']>;
const OTHER_ID = 'OTHER-MAC-0003';
const VIP_ID = 'VIP-MAC-0001';
const DAY_MS = 86_400_000;
const inCi = (process.env.CI ?? '') !== '';

/** Answers every turn with two sentences and reports `tokens` (input + output) of usage. */
class MeteredLlm implements LlmProvider {
  readonly name = 'metered';
  constructor(readonly tokens = 0) {}
  async *stream(): AsyncGenerator<LlmEvent> {
    yield { type: 'text', text: 'Here is an answer. It has two sentences.' };
    if (this.tokens > 0) yield { type: 'usage', inputTokens: this.tokens - 5, outputTokens: 5, model: 'metered-1' };
  }
}

function commit(sessionId: string, hardwareId = HARDWARE_ID): StreamRequest {
  return { prompt: 'hello', hardwareId, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 };
}

async function answer(t: TestServer, sessionId: string, hardwareId = HARDWARE_ID): Promise<void> {
  const result = await readStream(t.client.streamAudio(commit(sessionId, hardwareId)));
  assert.equal(result.status.code, status.OK, result.status.details);
  assert.equal(kinds(result.messages).at(-1), 'endMessage');
  // The counters are written as the turn ends; the next check must see them.
  await t.server.admission.quotas?.flush();
}

async function refused(t: TestServer, sessionId: string, words: RegExp, hardwareId = HARDWARE_ID): Promise<string> {
  const result = await readStream(t.client.streamAudio(commit(sessionId, hardwareId)));
  assert.equal(result.status.code, status.RESOURCE_EXHAUSTED, result.status.details);
  assert.deepEqual(kinds(result.messages), ['errorMessage']);
  const content = result.messages[0].content;
  assert.ok(content?.$case === 'errorMessage');
  assert.match(content.errorMessage, words);
  return content.errorMessage;
}

async function statusBody(t: TestServer): Promise<{ quotas: { store: string; usage: Record<string, { devices: number; answers: number; tokens: number; at_limit: number }> } }> {
  return (await (await fetch(`${t.httpUrl}/status`)).json()) as never;
}

async function metric(t: TestServer, series: string): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

function quotaConfig(memory: MemoryOverrides, quotas: QuotaOverrides): Config {
  // A generous check budget: on a loaded machine the default 250 ms would let answers through.
  return testConfig({
    memory_management: { ...memory, updater: { enabled: false } },
    quotas: { enabled: true, check_timeout_ms: 30_000, status_timeout_ms: 30_000, ...quotas },
  });
}

/** The behaviour every counter store must show. `memory()` gives a fresh database each call. */
function quotaSuite(memory: () => MemoryOverrides, persistent: boolean): void {
  test('answers per day: the answer past the limit is refused with "daily limit exceeded"; other devices, unlimited ids and the next day are served', async () => {
    const clock = new ManualClock();
    const config = quotaConfig(memory(), { day: { answers: 2 }, unlimited_hardware_ids: [VIP_ID] });
    const t = await startTestServer(config, { llm: new MeteredLlm(), clock });
    try {
      await answer(t, 'day-1');
      await answer(t, 'day-2');
      const message = await refused(t, 'day-3', /^daily limit exceeded: 2 of 2 answers used today; resets at 2026-01-06T00:00:00.000Z$/);
      assert.ok(message.includes('daily limit exceeded'), 'the words deployed clients open their subscription flow on');
      await answer(t, 'other-1', OTHER_ID);
      for (let i = 0; i < 3; i++) await answer(t, `vip-${i}`, VIP_ID);

      const body = await statusBody(t);
      assert.equal(body.quotas.usage.day.at_limit, 1);
      assert.equal(body.quotas.usage.day.devices, 3);
      assert.equal(body.quotas.usage.day.answers, 6);
      assert.equal(await metric(t, 'nexy_limit_exceeded_total{rpc="StreamAudio",limit="quota_day"}'), 1);
      assert.equal(await metric(t, 'nexy_quota_limit{period="day",resource="answers"}'), 2);

      // The SDK hands the words on as the error's message, from the server.
      const client = new NexyClient({ address: t.address });
      try {
        const error = await (async () => {
          for await (const event of client.streamAudio(commit('day-sdk'))) void event;
        })().then(
          () => assert.fail('refused'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof NexyClientError);
        assert.equal(error.code, status.RESOURCE_EXHAUSTED);
        assert.equal(error.fromServer, true);
        assert.match(error.message, /daily limit exceeded/);
      } finally {
        client.close();
      }

      clock.advance(DAY_MS);
      await answer(t, 'next-day');
    } finally {
      await t.close();
    }
  });

  test('model tokens count as the provider reports them, and the longest exceeded period names the refusal', async () => {
    const clock = new ManualClock();
    const config = quotaConfig(memory(), { day: { tokens: 100 }, week: { answers: 3 }, month: { answers: 2 } });
    const t = await startTestServer(config, { llm: new MeteredLlm(60), clock });
    try {
      await answer(t, 'tok-1');
      await answer(t, 'tok-2');
      // 120 tokens of 100 today, 2 of 3 answers this week, 2 of 2 this month: the month wins.
      await refused(t, 'tok-3', /^monthly limit exceeded: 2 of 2 answers used this month/);
      const body = await statusBody(t);
      assert.equal(body.quotas.usage.day.tokens, 120);
      assert.equal(body.quotas.usage.month.answers, 2);
    } finally {
      await t.close();
    }
    const week = await startTestServer(quotaConfig(memory(), { day: { tokens: 100 }, week: { answers: 1 } }), { llm: new MeteredLlm(60), clock });
    try {
      await answer(week, 'week-1');
      await refused(week, 'week-2', /^weekly limit exceeded: 1 of 1 answers used this week/);
      clock.advance(7 * DAY_MS);
      await answer(week, 'week-next');
    } finally {
      await week.close();
    }
  });

  if (persistent) {
    test('counts survive a restart and are shared by every instance on the database', async () => {
      const clock = new ManualClock();
      const config = quotaConfig(memory(), { day: { answers: 3 } });
      const first = await startTestServer(config, { llm: new MeteredLlm(), clock });
      await answer(first, 'restart-1');
      await first.close();
      const a = await startTestServer(config, { llm: new MeteredLlm(), clock });
      const b = await startTestServer(config, { llm: new MeteredLlm(), clock });
      try {
        await answer(a, 'shared-a');
        await answer(b, 'shared-b');
        await refused(a, 'shared-a2', /daily limit exceeded/);
        await refused(b, 'shared-b2', /daily limit exceeded/);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }
}

describe('quotas, SQLite', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  let shared: string | undefined;
  quotaSuite(() => {
    const dir = mkdtempSync(join(tmpdir(), 'nexy-quota-'));
    dirs.push(dir);
    shared = join(dir, 'nexy.sqlite');
    return { backend: 'sqlite', sqlite: { path: shared } };
  }, true);
});

describe('quotas, memory backend none (counted in this process)', () => {
  quotaSuite(() => ({ backend: 'none' }), false);

  test('counts are per process: a restart starts them over', async () => {
    const clock = new ManualClock();
    const config = quotaConfig({ backend: 'none' }, { day: { answers: 1 } });
    let t = await startTestServer(config, { llm: new MeteredLlm(), clock });
    await answer(t, 'none-1');
    await refused(t, 'none-2', /daily limit exceeded/);
    assert.equal((await statusBody(t)).quotas.store, 'in-process');
    await t.close();
    t = await startTestServer(config, { llm: new MeteredLlm(), clock });
    try {
      await answer(t, 'none-3');
    } finally {
      await t.close();
    }
  });
});

const pgProblem = await probePostgres();
if (pgProblem !== undefined && inCi) {
  test('PostgreSQL is reachable (required when CI is set)', () => {
    throw new Error(`cannot connect to ${PG_URL}: ${pgProblem}`);
  });
}

describe('quotas, PostgreSQL', { skip: pgProblem === undefined ? undefined : `no PostgreSQL at ${PG_URL} (${pgProblem})` }, () => {
  const schemas: string[] = [];
  after(() => withPg(async (client) => {
    for (const schema of schemas) await client.query(`drop schema if exists "${schema}" cascade`);
  }));
  quotaSuite(() => {
    // A schema of its own per test: tests and runs never see each other's counters.
    const schema = `nexy_quota_${process.pid}_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    return { backend: 'postgres', postgres: { url: PG_URL, schema } };
  }, true);
});
