/**
 * The one behaviour suite every SQL memory backend must pass. `sql-memory-store.test.ts` runs
 * it against SQLite and against a real PostgreSQL server.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Config } from '../../src/config/schema.js';
import { loadConfig } from '../../src/config/load.js';
import { AppError } from '../../src/errors.js';
import { createMemoryStore } from '../../src/memory/create-memory-store.js';
import { migrateMemoryDb, openMemoryDb, type MemoryDb } from '../../src/memory/db.js';
import { SECRET_MASKS } from '../../src/memory/mask-secrets.js';
import type { MemoryBackend, TurnRecord } from '../../src/memory/store.js';

export type MemorySection = Config['memory_management'];

/** One empty database for one test. */
export interface TestDatabase {
  /** The config section that opens it, with `overrides` merged on top. */
  section(overrides?: Partial<MemorySection>): MemorySection;
  /** Everything stored, as text (for SQLite: the file bytes). Call with every store closed. */
  dump(): Promise<string>;
  dispose(): Promise<void>;
}

export interface SuiteBackend {
  readonly name: 'sqlite' | 'postgres';
  /** A reason to skip the suite, or undefined to run it. */
  readonly skip?: string;
  /** Several server instances may open one database at once (true for PostgreSQL). */
  readonly sharedByInstances: boolean;
  fresh(): Promise<TestDatabase>;
}

/** The shipped defaults, with no environment variable set, as the base of every test. */
export function defaultSection(): MemorySection {
  return loadConfig({ env: {} }).memory_management;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const BUDGET = { maxTurns: 12, maxChars: 6000 };
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function turn(hardwareId: string, n: number, extra: Partial<TurnRecord> = {}): TurnRecord {
  return {
    hardwareId,
    sessionId: `session-${n}`,
    userText: `question ${n}`,
    assistantText: `answer ${n}`,
    interrupted: false,
    startedAt: new Date(T0 + n * 60_000),
    endedAt: new Date(T0 + n * 60_000 + 5_000),
    provider: 'scripted',
    ...extra,
  };
}

export function memoryStoreSuite(backend: SuiteBackend): void {
  describe(`SqlMemoryStore on ${backend.name}`, { skip: backend.skip }, () => {
    let database: TestDatabase;
    const open: MemoryBackend[] = [];
    const peeks: MemoryDb[] = [];

    async function store(overrides?: Partial<MemorySection>): Promise<MemoryBackend> {
      const s = await createMemoryStore(database.section(overrides));
      open.push(s);
      return s;
    }

    /** A second connection for looking at rows directly. */
    async function peek(): Promise<MemoryDb> {
      const section = database.section();
      const { db } = await openMemoryDb(section.backend === 'postgres' ? { backend: 'postgres', postgres: section.postgres } : { backend: 'sqlite', sqlite: section.sqlite });
      peeks.push(db);
      return db;
    }

    beforeEach(async () => {
      database = await backend.fresh();
    });

    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      for (const db of peeks.splice(0)) await db.destroy();
      await database.dispose();
    });

    it('reports its backend name', async () => {
      assert.equal((await store()).name, backend.name);
    });

    it('returns saved turns as chat messages, oldest first', async () => {
      const s = await store();
      await s.saveTurn(turn('HW-A', 1));
      await s.saveTurn(turn('HW-A', 2));
      const context = await s.context('HW-A', BUDGET);
      assert.deepEqual(context.messages, [
        { role: 'user', content: 'question 1' },
        { role: 'assistant', content: 'answer 1' },
        { role: 'user', content: 'question 2' },
        { role: 'assistant', content: 'answer 2' },
      ]);
      assert.equal(context.summary, '');
      assert.deepEqual(context.facts, []);
    });

    it('orders by when a turn ended, not by when it was saved', async () => {
      const s = await store();
      await s.saveTurn(turn('HW-A', 2));
      await s.saveTurn(turn('HW-A', 1));
      const context = await s.context('HW-A', BUDGET);
      assert.deepEqual(context.messages.map((m) => m.content), ['question 1', 'answer 1', 'question 2', 'answer 2']);
    });

    it('keeps the newest turns within the turn budget', async () => {
      const s = await store();
      for (let n = 1; n <= 5; n += 1) await s.saveTurn(turn('HW-A', n));
      const context = await s.context('HW-A', { maxTurns: 2, maxChars: 6000 });
      assert.deepEqual(context.messages.map((m) => m.content), ['question 4', 'answer 4', 'question 5', 'answer 5']);
    });

    it('keeps the newest turns within the character budget', async () => {
      const s = await store();
      for (let n = 1; n <= 5; n += 1) await s.saveTurn(turn('HW-A', n));
      // Each turn is "question n" + "answer n" = 18 characters.
      const context = await s.context('HW-A', { maxTurns: 12, maxChars: 18 * 3 });
      assert.deepEqual(context.messages.filter((m) => m.role === 'user').map((m) => m.content), ['question 3', 'question 4', 'question 5']);
    });

    it('keeps an interrupted turn truncated, flagged, and marked for the model', async () => {
      const s = await store();
      await s.saveTurn(turn('HW-A', 1, { assistantText: 'Once upon a time', interrupted: true, inputTokens: 12, outputTokens: 4 }));
      const context = await s.context('HW-A', BUDGET);
      const marker = database.section().interrupted_marker;
      assert.deepEqual(context.messages[1], { role: 'assistant', content: `Once upon a time ${marker}` });
      const row = await (await peek()).selectFrom('turns').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.assistant_text, 'Once upon a time');
      assert.equal(row.interrupted, 1);
      assert.equal(row.session_id, 'session-1');
      assert.equal(row.provider, 'scripted');
      assert.equal(row.input_tokens, 12);
      assert.equal(row.output_tokens, 4);
      assert.equal(row.started_at, T0 + 60_000);
      assert.equal(row.ended_at, T0 + 65_000);
    });

    it('keeps hardware ids apart', async () => {
      const s = await store();
      await s.saveTurn(turn('HW-A', 1));
      await s.saveTurn(turn('HW-B', 2));
      await s.addFacts('HW-A', ["User's name is Alex"]);
      await s.setSummary('HW-B', 'Talked about B things.');
      const a = await s.context('HW-A', BUDGET);
      const b = await s.context('HW-B', BUDGET);
      assert.deepEqual(a.messages.map((m) => m.content), ['question 1', 'answer 1']);
      assert.deepEqual(a.facts, ["User's name is Alex"]);
      assert.equal(a.summary, '');
      assert.deepEqual(b.messages.map((m) => m.content), ['question 2', 'answer 2']);
      assert.deepEqual(b.facts, []);
      assert.equal(b.summary, 'Talked about B things.');
      assert.deepEqual((await s.context('HW-C', BUDGET)).messages, []);
    });

    it('forget removes everything of one id and nothing of another', async () => {
      const s = await store();
      for (const id of ['HW-A', 'HW-B']) {
        await s.saveTurn(turn(id, 1));
        await s.addFacts(id, ['User likes tea']);
        await s.setSummary(id, 'A summary.');
        await s.saveUsage({ hardwareId: id, sessionId: 's', source: 'client', inputTokens: 1, outputTokens: 2, model: 'm', at: new Date(T0) });
      }
      await s.forget('HW-A');
      const a = await s.context('HW-A', BUDGET);
      assert.deepEqual(a, { messages: [], summary: '', facts: [] });
      const b = await s.context('HW-B', BUDGET);
      assert.equal(b.messages.length, 2);
      assert.equal(b.summary, 'A summary.');
      const db = await peek();
      for (const table of ['turns', 'summaries', 'facts', 'usage'] as const) {
        const rows = await db.selectFrom(table).select('hardware_key').execute();
        assert.equal(rows.length, 1, `${table} keeps only HW-B's row`);
      }
      await s.forget('HW-NEVER-SEEN');
    });

    it('prune deletes turns and usage past their retention only', async () => {
      const s = await store({ turn_retention_days: 30, usage_retention_days: 90 });
      const now = new Date(T0 + 100 * DAY_MS);
      const daysAgo = (d: number) => new Date(now.getTime() - d * DAY_MS);
      await s.saveTurn(turn('HW-A', 1, { startedAt: daysAgo(40), endedAt: daysAgo(40) }));
      await s.saveTurn(turn('HW-A', 2, { startedAt: daysAgo(29), endedAt: daysAgo(29) }));
      const usage = { hardwareId: 'HW-A', sessionId: 's', source: 'llm', inputTokens: 1, outputTokens: 1, model: 'm' };
      await s.saveUsage({ ...usage, at: daysAgo(100) });
      await s.saveUsage({ ...usage, at: daysAgo(40) });
      assert.deepEqual(await s.prune(now), { turns: 1, usage: 1 });
      assert.deepEqual((await s.context('HW-A', BUDGET)).messages.map((m) => m.content), ['question 2', 'answer 2']);
      assert.deepEqual(await s.prune(now), { turns: 0, usage: 0 });
    });

    it('retention of 0 days keeps everything', async () => {
      const s = await store({ turn_retention_days: 0, usage_retention_days: 0 });
      await s.saveTurn(turn('HW-A', 1, { startedAt: new Date(0), endedAt: new Date(0) }));
      assert.deepEqual(await s.prune(new Date(T0)), { turns: 0, usage: 0 });
      assert.equal((await s.context('HW-A', BUDGET)).messages.length, 2);
    });

    it('keeps facts deduplicated, bounded and in order', async () => {
      const s = await store({ max_facts: 3, fact_max_chars: 20 });
      await s.addFacts('HW-A', ['User likes tea', '  user   LIKES tea ', 'User likes jazz']);
      // The last wording of a repeated fact wins; whitespace is collapsed.
      assert.deepEqual((await s.context('HW-A', BUDGET)).facts, ['user LIKES tea', 'User likes jazz']);
      await s.addFacts('HW-A', ['Fact three', 'Fact four is rather long indeed']);
      assert.deepEqual((await s.context('HW-A', BUDGET)).facts, ['User likes jazz', 'Fact three', 'Fact four is rather']);
      await s.addFacts('HW-A', ['', '   ']);
      assert.equal((await s.context('HW-A', BUDGET)).facts.length, 3);
    });

    it('a fact said again becomes the newest', async () => {
      const s = await store({ max_facts: 2 });
      await s.addFacts('HW-A', ['First']);
      await s.addFacts('HW-A', ['Second']);
      await s.addFacts('HW-A', ['first']);
      await s.addFacts('HW-A', ['Third']);
      assert.deepEqual((await s.context('HW-A', BUDGET)).facts, ['first', 'Third']);
    });

    it('replaces, cuts and removes the summary', async () => {
      const s = await store({ summary_max_chars: 10 });
      await s.setSummary('HW-A', 'old');
      await s.setSummary('HW-A', 'new summary text');
      assert.equal((await s.context('HW-A', BUDGET)).summary, 'new summar');
      await s.setSummary('HW-A', '');
      assert.equal((await s.context('HW-A', BUDGET)).summary, '');
    });

    it('masks secrets in turns, facts and the summary before storing them', async () => {
      const s = await store();
      await s.saveTurn(turn('HW-A', 1, { userText: 'my password is hunter2', assistantText: 'Card 4111 1111 1111 1111 noted' }));
      await s.addFacts('HW-A', ['User key is sk-proj-AbC123def456GHI789jkl0']);
      await s.setSummary('HW-A', 'User said my password is hunter2');
      await s.close();
      const text = await database.dump();
      assert.ok(!text.includes('hunter2'));
      assert.ok(!text.includes('4111 1111'));
      assert.ok(!text.includes('sk-proj'));
      const again = await store();
      const context = await again.context('HW-A', BUDGET);
      assert.equal(context.messages[0].content, `my password is ${SECRET_MASKS.password}`);
      assert.equal(context.messages[1].content, `Card ${SECRET_MASKS.card} noted`);
    });

    it('stores usage records', async () => {
      const s = await store();
      await s.saveUsage({ hardwareId: 'HW-A', sessionId: 'sess', source: 'client', inputTokens: 120, outputTokens: 45, model: 'gpt-x', at: new Date(T0) });
      const rows = await (await peek()).selectFrom('usage').selectAll().execute();
      assert.equal(rows.length, 1);
      assert.deepEqual(
        { ...rows[0], id: undefined, hardware_key: undefined },
        { id: undefined, hardware_key: undefined, session_id: 'sess', source: 'client', input_tokens: 120, output_tokens: 45, model: 'gpt-x', at: T0 },
      );
    });

    it('stores hardware ids hashed by default: the raw id is nowhere in the database', async () => {
      const rawId = 'RAW-HARDWARE-ID-3F2504E0-4F89';
      const s = await store();
      await s.saveTurn(turn(rawId, 1));
      await s.addFacts(rawId, ['User likes tea']);
      await s.setSummary(rawId, 'Summary.');
      await s.saveUsage({ hardwareId: rawId, sessionId: 's', source: 'client', inputTokens: 1, outputTokens: 1, model: 'm', at: new Date(T0) });
      assert.equal((await s.context(rawId, BUDGET)).messages.length, 2);
      await s.close();
      const text = await database.dump();
      assert.ok(text.includes('question 1'), 'the dump holds the stored text');
      assert.ok(!text.includes(rawId));
      assert.ok(!text.toLowerCase().includes(rawId.toLowerCase()));
    });

    it('stores hardware ids as given when configured to', async () => {
      const s = await store({ store_raw_hardware_id: true });
      await s.saveTurn(turn('RAW-ID-KEPT', 1));
      await s.close();
      assert.ok((await database.dump()).includes('RAW-ID-KEPT'));
    });

    it('a configured hash key is used instead of the generated one', async () => {
      const generated = await store();
      await generated.saveTurn(turn('HW-A', 1));
      await generated.close();
      const keyed = await store({ hardware_id_hash_key: 'a-configured-key-of-32-characters' });
      assert.deepEqual((await keyed.context('HW-A', BUDGET)).messages, [], 'another key, another identity');
      await keyed.saveTurn(turn('HW-A', 2));
      await keyed.close();
      const again = await store({ hardware_id_hash_key: 'a-configured-key-of-32-characters' });
      assert.deepEqual((await again.context('HW-A', BUDGET)).messages.map((m) => m.content), ['question 2', 'answer 2']);
    });

    it('migrations are idempotent', async () => {
      const section = database.section();
      const first = await openMemoryDb(section.backend === 'postgres' ? { backend: 'postgres', postgres: section.postgres } : { backend: 'sqlite', sqlite: section.sqlite });
      peeks.push(first.db);
      assert.deepEqual(first.applied, ['001-initial', '002-admission']);
      const schema = section.backend === 'postgres' ? section.postgres.schema : undefined;
      assert.deepEqual(await migrateMemoryDb(first.db, schema), []);
      const second = await openMemoryDb(section.backend === 'postgres' ? { backend: 'postgres', postgres: section.postgres } : { backend: 'sqlite', sqlite: section.sqlite });
      peeks.push(second.db);
      assert.deepEqual(second.applied, []);
      const s = await store();
      await s.saveTurn(turn('HW-A', 1));
      assert.equal((await s.context('HW-A', BUDGET)).messages.length, 2);
    });

    it('survives a close and reopen', async () => {
      const s = await store();
      await s.saveTurn(turn('HW-A', 1, { interrupted: true, assistantText: 'Half' }));
      await s.addFacts('HW-A', ["User's name is Alex"]);
      await s.setSummary('HW-A', 'Summary.');
      await s.close();
      const reopened = await store();
      const context = await reopened.context('HW-A', BUDGET);
      assert.equal(context.messages.length, 2);
      assert.ok(context.messages[1].content.startsWith('Half '));
      assert.deepEqual(context.facts, ["User's name is Alex"]);
      assert.equal(context.summary, 'Summary.');
    });

    it('an aborted signal stops context with an interrupted error', async () => {
      const s = await store();
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(s.context('HW-A', BUDGET, controller.signal), (e: unknown) => e instanceof AppError && e.kind === 'interrupted');
    });

    it('ping answers while open and says why not once closed', async () => {
      const s = await store();
      assert.equal(await s.ping?.(), undefined);
      await s.close();
      assert.equal(typeof (await s.ping?.()), 'string');
    });

    it('a closed store rejects with unavailable', async () => {
      const s = await store();
      await s.close();
      await s.close();
      await assert.rejects(s.saveTurn(turn('HW-A', 1)), (e: unknown) => e instanceof AppError && e.kind === 'unavailable');
    });

    it('instances opening one database at once agree on the generated hash key', { skip: !backend.sharedByInstances }, async () => {
      const [a, b] = await Promise.all([store(), store()]);
      await a.saveTurn(turn('HW-A', 1));
      assert.equal((await b.context('HW-A', BUDGET)).messages.length, 2);
    });
  });
}
