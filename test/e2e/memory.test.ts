import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import SqliteDatabase from 'better-sqlite3';
import type { DeepPartial } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { RequestPhase, type InterruptResponse, type StreamRequest, type StreamResponse, type UsageRequest, type UsageResponse } from '../../src/gen/streaming.js';
import { createMemoryStore } from '../../src/memory/create-memory-store.js';
import { hashHardwareId } from '../../src/memory/hardware-key.js';
import { createLogger } from '../../src/observability/logger.js';
import type { LlmRequest } from '../../src/llm/provider.js';
import { hang, ScriptedLlm, text } from '../support/llm-stubs.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { PG_URL, probePostgres, withPg } from '../support/postgres.js';

/**
 * Conversation memory end to end: real gRPC, the real server, a SQLite file (and PostgreSQL),
 * a recording model. Saves and memory updates run off the latency path; tests wait for them
 * with `service.drain()`.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/nexy.mjs');
const OTHER_ID = 'OTHER-MAC-0001';
// The machine's PostgreSQL (trust auth), as the store's own suite uses it.
const inCi = (process.env.CI ?? '') !== '';
const DAY_MS = 24 * 60 * 60 * 1000;

type Overrides = DeepPartial<{ -readonly [K in keyof Config]: Config[K] }>;
type MemoryOverrides = NonNullable<Overrides['memory_management']>;

function sqliteFile(): { path: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-memory-e2e-'));
  return { path: join(dir, 'nexy.sqlite'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

function memoryConfig(memory: MemoryOverrides, rest: Overrides = {}): Config {
  return testConfig({ ...rest, memory_management: memory });
}

function commit(hardwareId: string, sessionId: string, prompt: string): StreamRequest {
  return { prompt, hardwareId, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 };
}

/** One whole turn; fails unless it completed. */
async function ask(t: TestServer, hardwareId: string, sessionId: string, prompt: string): Promise<StreamResponse[]> {
  const result = await readStream(t.client.streamAudio(commit(hardwareId, sessionId, prompt)));
  assert.equal(result.status.code, status.OK, result.status.details);
  assert.equal(kinds(result.messages).at(-1), 'endMessage');
  return result.messages;
}

/**
 * "tell me a story": one sentence and the start of the next, then nothing until the turn is
 * aborted, so that exactly the first sentence can be heard. "warm up": that sentence alone.
 * Anything else: a short answer.
 */
const storyLlm = (): ScriptedLlm =>
  new ScriptedLlm('story', (request) => {
    if (request.prompt === 'warm up') return [text('Once upon a time.')];
    if (request.prompt !== 'tell me a story') return [text('And so on.')];
    // The start of the second sentence lets the splitter close the first one.
    return [text('Once upon a time. There was'), hang()];
  });

/** The turn request the model got for `prompt` (not the memory updater's). */
function requestFor(llm: { readonly requests: readonly LlmRequest[] }, prompt: string): LlmRequest {
  const found = llm.requests.filter((r) => r.prompt === prompt);
  assert.equal(found.length, 1, `one request for ${JSON.stringify(prompt)}`);
  return found[0];
}

/** Everything remembered that a request carries: the system prompt and the earlier messages. */
function remembered(request: LlmRequest): string {
  return [request.system, ...request.history.map((m) => `${m.role}: ${m.content}`)].join('\n');
}

describe('conversation memory over gRPC, SQLite file', () => {
  test("a fact told in one session is in the next session's request of that device only, and survives a restart", async () => {
    const file = sqliteFile();
    // Rules only: the fact comes from the store and the rule set, no second model call.
    const config = memoryConfig({ backend: 'sqlite', sqlite: { path: file.path }, updater: { mode: 'rules' } });
    let llm = new RecordingLlm('Nice to meet you.');
    let t = await startTestServer(config, { llm });
    try {
      await ask(t, HARDWARE_ID, 'mem-1', 'my name is Alex');
      await t.server.service.drain();
      await ask(t, HARDWARE_ID, 'mem-2', 'what is my name?');
      await ask(t, OTHER_ID, 'mem-other', 'what is my name, other?');

      const next = requestFor(llm, 'what is my name?');
      assert.deepEqual(next.history.slice(0, 2), [
        { role: 'user', content: 'my name is Alex' },
        { role: 'assistant', content: 'Nice to meet you.' },
      ]);
      assert.match(remembered(next), /User's name is Alex/);
      assert.equal(next.prompt, 'what is my name?', 'memory never goes into the prompt itself');
      assert.doesNotMatch(remembered(requestFor(llm, 'what is my name, other?')), /Alex/);
      assert.equal(llm.requests.length, 3, 'mode rules asks no model');

      await t.close();
      llm = new RecordingLlm('You are Alex.');
      t = await startTestServer(config, { llm });
      await ask(t, HARDWARE_ID, 'mem-3', 'do you still know me?');
      const afterRestart = requestFor(llm, 'do you still know me?');
      assert.match(remembered(afterRestart), /User's name is Alex/);
      assert.ok(afterRestart.history.some((m) => m.content === 'my name is Alex'));
    } finally {
      await t.close();
      file.dispose();
    }
  });

  test('an interrupted turn is stored cut to the sentences heard, flagged, and told to the model as such', async () => {
    const file = sqliteFile();
    const config = memoryConfig({ backend: 'sqlite', sqlite: { path: file.path }, updater: { enabled: false } });
    const llm = storyLlm();
    const t = await startTestServer(config, { llm });
    try {
      // How many audio chunks the first sentence makes (speech is deterministic).
      const warm = await ask(t, OTHER_ID, 'warm', 'warm up');
      const firstSentenceChunks = kinds(warm).filter((k) => k === 'audioChunk').length;
      assert.ok(firstSentenceChunks > 0);

      const call = t.client.streamAudio(commit(HARDWARE_ID, 'story', 'tell me a story'));
      let audio = 0;
      const firstSentenceSent = new Promise<void>((resolve) =>
        call.on('data', (m: StreamResponse) => {
          if (m.content?.$case === 'audioChunk' && ++audio === firstSentenceChunks) resolve();
        }),
      );
      const result = readStream(call);
      await firstSentenceSent;
      const reply = await promisify<{ hardwareId: string }, InterruptResponse>(t.client.interruptSession.bind(t.client))({ hardwareId: HARDWARE_ID });
      assert.deepEqual(reply.interruptedSessions, ['story']);
      assert.equal((await result).status.code, status.CANCELLED);
      await t.server.service.drain();

      const db = new SqliteDatabase(file.path, { readonly: true });
      try {
        const row = db.prepare('select user_text, assistant_text, interrupted from turns where session_id = ?').get('story');
        assert.deepEqual({ ...(row as object) }, { user_text: 'tell me a story', assistant_text: 'Once upon a time.', interrupted: 1 });
      } finally {
        db.close();
      }

      await ask(t, HARDWARE_ID, 'after-story', 'go on');
      assert.deepEqual(requestFor(llm, 'go on').history, [
        { role: 'user', content: 'tell me a story' },
        { role: 'assistant', content: `Once upon a time. ${config.memory_management.interrupted_marker}` },
      ]);
    } finally {
      await t.close();
      file.dispose();
    }
  });

  test('the memory model learns "I like green tea" in one session; the next session gets it as a fact', async () => {
    const file = sqliteFile();
    // No earlier turns in the request: what comes through is the fact, not the history.
    const config = memoryConfig({ backend: 'sqlite', sqlite: { path: file.path }, context_max_turns: 0 });
    const updaterSystem = config.memory_management.updater.system_prompt;
    const llm = new RecordingLlm((r) =>
      r.system === updaterSystem ? '{"facts":["User enjoys green tea"],"summary":"The user said they like green tea."}' : 'Good choice.',
    );
    const t = await startTestServer(config, { llm });
    try {
      await ask(t, HARDWARE_ID, 'tea-1', 'I like green tea');
      await t.server.service.drain();
      const update = llm.requests.find((r) => r.system === updaterSystem);
      assert.ok(update, 'the memory model was asked');
      assert.match(update.prompt, /User: I like green tea\nAssistant: Good choice\./);

      await ask(t, HARDWARE_ID, 'tea-2', 'what should I drink?');
      await ask(t, OTHER_ID, 'tea-other', 'what should I drink, other?');
      const next = requestFor(llm, 'what should I drink?');
      assert.ok(!next.history.some((m) => m.content.includes('I like green tea')), 'not as an earlier turn');
      assert.match(remembered(next), /User enjoys green tea/);
      assert.match(remembered(next), /The user said they like green tea\./);
      assert.doesNotMatch(remembered(requestFor(llm, 'what should I drink, other?')), /green tea/);
    } finally {
      await t.close();
      file.dispose();
    }
  });

  test('ReportUsage is stored under the hashed hardware id', async () => {
    const file = sqliteFile();
    const t = await startTestServer(memoryConfig({ backend: 'sqlite', sqlite: { path: file.path } }), { llm: new RecordingLlm() });
    try {
      const usage: UsageRequest = { hardwareId: HARDWARE_ID, sessionId: 'usage-1', source: 'client-stt', inputTokens: 12, outputTokens: 34, model: 'whisper-x' };
      const reply = await promisify<UsageRequest, UsageResponse>(t.client.reportUsage.bind(t.client))(usage);
      assert.equal(reply.success, true);
      const db = new SqliteDatabase(file.path, { readonly: true });
      try {
        const { value: key } = db.prepare("select value from memory_meta where name = 'hardware_id_hash_key'").get() as { value: string };
        const rows = db.prepare('select hardware_key, session_id, source, input_tokens, output_tokens, model from usage where source = ?').all('client-stt');
        assert.deepEqual(rows.map((r) => ({ ...(r as object) })), [
          { hardware_key: hashHardwareId(key, HARDWARE_ID), session_id: 'usage-1', source: 'client-stt', input_tokens: 12, output_tokens: 34, model: 'whisper-x' },
        ]);
      } finally {
        db.close();
      }
    } finally {
      await t.close();
      file.dispose();
    }
  });

  test('the prune timer removes turns past their retention; they no longer reach the model', async () => {
    const file = sqliteFile();
    const memory = { backend: 'sqlite', sqlite: { path: file.path }, turn_retention_days: 1, prune_interval_ms: 20, updater: { enabled: false } } as const;
    const config = memoryConfig(memory);
    const seed = await createMemoryStore(config.memory_management);
    const old = new Date(Date.now() - 3 * DAY_MS);
    await seed.saveTurn({ hardwareId: HARDWARE_ID, sessionId: 'old', userText: 'ancient question', assistantText: 'ancient answer', interrupted: false, startedAt: old, endedAt: old, provider: 'test' });
    await seed.close();

    // The server logs each prune: that line is the event to wait for.
    const pruned = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          const entry = JSON.parse(line) as { msg: string; pruned?: { turns: number } };
          if (entry.msg === 'memory pruned' && (entry.pruned?.turns ?? 0) > 0) this.emit('pruned', entry.pruned);
        }
        done();
      },
    });
    const prunedOnce = once(pruned, 'pruned');
    const llm = new RecordingLlm();
    const t = await startTestServer(config, { llm, logger: createLogger('info', pruned) });
    try {
      const [counts] = (await prunedOnce) as [{ turns: number }];
      assert.equal(counts.turns, 1);
      await ask(t, HARDWARE_ID, 'after-prune', 'anything from before?');
      assert.doesNotMatch(remembered(requestFor(llm, 'anything from before?')), /ancient/);
    } finally {
      await t.close();
      file.dispose();
    }
  });
});

describe('forget', () => {
  const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

  test('DELETE /admin/memory/{hardware_id} on the running server forgets that device, and only it', async () => {
    const file = sqliteFile();
    const config = memoryConfig({ backend: 'sqlite', sqlite: { path: file.path }, updater: { mode: 'rules' } }, { admin: { token: ADMIN_TOKEN } });
    const llm = new RecordingLlm('Nice to meet you.');
    const t = await startTestServer(config, { llm });
    try {
      await ask(t, HARDWARE_ID, 'f-1', 'my name is Alex');
      await ask(t, OTHER_ID, 'f-other', 'my name is Sam');
      await promisify<UsageRequest, UsageResponse>(t.client.reportUsage.bind(t.client))({
        hardwareId: HARDWARE_ID, sessionId: 'f-1', source: 'client', inputTokens: 1, outputTokens: 2, model: 'm',
      });
      await t.server.service.drain();

      const url = `${t.httpUrl}/admin/memory/${HARDWARE_ID}`;
      const refused = await fetch(url, { method: 'DELETE', headers: { authorization: 'Bearer not-the-admin-token-at-all' } });
      assert.equal(refused.status, 401);
      const res = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { forgotten: true });

      const db = new SqliteDatabase(file.path, { readonly: true });
      try {
        const { value: key } = db.prepare("select value from memory_meta where name = 'hardware_id_hash_key'").get() as { value: string };
        for (const table of ['turns', 'facts', 'summaries', 'usage']) {
          const count = (id: string) => (db.prepare(`select count(*) as n from ${table} where hardware_key = ?`).get(hashHardwareId(key, id)) as { n: number }).n;
          assert.equal(count(HARDWARE_ID), 0, `${table} of the forgotten device`);
          if (table === 'turns' || table === 'facts') assert.equal(count(OTHER_ID), 1, `${table} of the other device stay`);
        }
      } finally {
        db.close();
      }
      await ask(t, HARDWARE_ID, 'f-2', 'what is my name?');
      assert.doesNotMatch(remembered(requestFor(llm, 'what is my name?')), /Alex/);
    } finally {
      await t.close();
      file.dispose();
    }
  });

  test('nexy forget --hardware-id ID --config PATH removes the device from the configured database', async () => {
    const file = sqliteFile();
    const overrides = join(file.path, '..', 'override.yaml');
    writeFileSync(overrides, `memory_management:\n  backend: sqlite\n  sqlite: { path: ${JSON.stringify(file.path)} }\n`);
    const section = memoryConfig({ backend: 'sqlite', sqlite: { path: file.path } }).memory_management;
    const seed = await createMemoryStore(section);
    const now = new Date();
    for (const id of [HARDWARE_ID, OTHER_ID]) {
      await seed.saveTurn({ hardwareId: id, sessionId: 's', userText: 'my name is Alex', assistantText: 'Hi.', interrupted: false, startedAt: now, endedAt: now, provider: 'test' });
      await seed.addFacts(id, ["User's name is Alex"]);
      await seed.setSummary(id, 'Introductions.');
    }
    await seed.close();
    try {
      const [done, missingId] = await Promise.all([
        nexy(['forget', '--hardware-id', HARDWARE_ID, '--config', overrides]),
        nexy(['forget', '--config', overrides]),
      ]);
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, new RegExp(`forgot everything stored for ${HARDWARE_ID}`));
      assert.equal(missingId.code, 2);
      assert.match(missingId.stderr, /--hardware-id is required/);

      const check = await createMemoryStore(section);
      try {
        const budget = { maxTurns: 12, maxChars: 6000 };
        assert.deepEqual(await check.context(HARDWARE_ID, budget), { messages: [], summary: '', facts: [] });
        const other = await check.context(OTHER_ID, budget);
        assert.deepEqual([other.messages.length, other.summary, other.facts], [2, 'Introductions.', ["User's name is Alex"]]);
      } finally {
        await check.close();
      }
    } finally {
      file.dispose();
    }
  });
});

/** `node bin/nexy.mjs ...` with an environment that cannot pick another config or database. */
async function nexy(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['NEXY_CONFIG', 'NEXY_SQLITE_PATH', 'DATABASE_URL', 'NEXY_MEMORY_HASH_KEY']) delete env[name];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

const pgProblem = await probePostgres();
if (pgProblem !== undefined && inCi) {
  test('PostgreSQL is reachable (required when CI is set)', () => {
    throw new Error(`cannot connect to ${PG_URL}: ${pgProblem}`);
  });
}

describe('conversation memory over gRPC, PostgreSQL', { skip: pgProblem === undefined ? undefined : `no PostgreSQL at ${PG_URL} (${pgProblem})` }, () => {
  // A schema of its own per run, dropped after, so runs and other suites never collide.
  const schema = `nexy_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
  after(() => withPg((client) => client.query(`drop schema if exists "${schema}" cascade`)));

  test("a fact told in one session is in the next session's request of that device only, and survives a restart", async () => {
    const config = memoryConfig({ backend: 'postgres', postgres: { url: PG_URL, schema }, updater: { mode: 'rules' } });
    let llm = new RecordingLlm('Nice to meet you.');
    let t = await startTestServer(config, { llm });
    try {
      await ask(t, HARDWARE_ID, 'pg-1', 'my name is Alex');
      await t.server.service.drain();
      await ask(t, HARDWARE_ID, 'pg-2', 'what is my name?');
      await ask(t, OTHER_ID, 'pg-other', 'what is my name, other?');
      const next = requestFor(llm, 'what is my name?');
      assert.match(remembered(next), /User's name is Alex/);
      assert.deepEqual(next.history[0], { role: 'user', content: 'my name is Alex' });
      assert.doesNotMatch(remembered(requestFor(llm, 'what is my name, other?')), /Alex/);

      await t.close();
      llm = new RecordingLlm('You are Alex.');
      t = await startTestServer(config, { llm });
      await ask(t, HARDWARE_ID, 'pg-3', 'do you still know me?');
      assert.match(remembered(requestFor(llm, 'do you still know me?')), /User's name is Alex/);
    } finally {
      await t.close();
    }
  });
});

