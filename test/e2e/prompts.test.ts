import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { RequestPhase, type StreamRequest } from '../../src/gen/streaming.js';
import { SECRET_MASKS } from '../../src/memory/mask-secrets.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { makeWebp } from '../support/images.js';
import { HARDWARE_ID, kinds, readStream, startTestServer, testConfig, type TestServer } from '../support/harness.js';

function commit(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: 'hello', hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

/**
 * The system message and the last user message of the turn's request, the first one from `from`
 * on with the chat system prompt (the memory updater may ask the same fake in the background).
 */
function sent(fake: FakeOpenAi, from: number): { system: string; last: unknown; tools: unknown } {
  const bodies = fake.requests.slice(from).map((r) => r.body as unknown as { messages: Array<{ role: string; content: unknown }>; tools?: unknown });
  const body = bodies.find((b) => b.messages[0]?.role === 'system' && /^You are Testy/.test(String(b.messages[0].content)));
  assert.ok(body, 'the turn reached the model');
  return { system: String(body.messages[0].content), last: body.messages.at(-1)?.content, tools: body.tools };
}

const texts = (messages: readonly { content?: { $case: string; textChunk?: string } }[]): string[] =>
  messages.flatMap((m) => (m.content?.$case === 'textChunk' ? [m.content.textChunk ?? ''] : []));

describe('system prompt, filters and usage end to end (fake OpenAI, SQLite memory)', () => {
  let fake: FakeOpenAi;
  let t: TestServer;
  let sqlitePath: string;
  const logLines: Array<Record<string, unknown>> = [];
  before(async () => {
    fake = await startFakeOpenAi();
    const config = testConfig({
      text_processing: {
        provider: 'openai',
        openai: { base_url: fake.url, api_key: 'sk-test', model: 'test-model' },
        prompts: { assistant_name: 'Testy', timezone: 'Europe/Berlin' },
        filters: { blocked_patterns: ['\\bforbidden topic\\b'] },
      },
      memory_management: { backend: 'sqlite', store_raw_hardware_id: true },
      // The refusals are compared whole, as one text_chunk: no opener ("Sorry,") cut off first.
      pipeline: { first_fragment_min_chars: 100 },
    });
    sqlitePath = config.memory_management.sqlite.path;
    const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
    // 13:05 UTC is 14:05 in Berlin (winter time).
    t = await startTestServer(config, { logger, now: () => new Date('2025-03-14T13:05:00Z') });
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  test('the system prompt is the rendered template: name, date and time from the clock, zone, English', async () => {
    fake.script({ reply: 'Hi there.' });
    const before = fake.requests.length;
    const result = await readStream(t.client.streamAudio(commit({ prompt: 'what time is it', sessionId: 'pr-1' })));
    assert.equal(result.status.code, status.OK);
    const { system, last, tools } = sent(fake, before);
    assert.match(system, /^You are Testy, a friendly voice assistant/);
    assert.match(system, /It is Friday, 14 March 2025, 14:05 \(Europe\/Berlin\)\./);
    assert.match(system, /looks like English\./);
    assert.doesNotMatch(system, /\{\{|\}\}/, 'every variable is filled in');
    assert.doesNotMatch(system, /screenshot/i, 'no screen line without a screenshot');
    assert.doesNotMatch(system, /commands offered as tools/, 'actions are off by default');
    assert.equal(tools, undefined, 'no tools are offered while actions are off');
    assert.equal(last, 'what time is it', 'the prompt is exactly the last user message');
  });

  test('a Russian prompt: the system prompt says Russian', async () => {
    fake.script({ reply: 'Сейчас два часа.' });
    const before = fake.requests.length;
    const result = await readStream(t.client.streamAudio(commit({ prompt: 'Который час?', sessionId: 'pr-2' })));
    assert.equal(result.status.code, status.OK);
    const { system, last } = sent(fake, before);
    assert.match(system, /looks like Russian\./);
    assert.equal(last, 'Который час?');
  });

  test('with a screenshot the system prompt says so and gives its size', async () => {
    fake.script({ reply: 'I see a window.' });
    const webp = await makeWebp(320, 200);
    const before = fake.requests.length;
    const result = await readStream(
      t.client.streamAudio(commit({ prompt: 'what is on my screen', sessionId: 'pr-3', screenshot: webp.toString('base64'), screenWidth: 1440, screenHeight: 900 })),
    );
    assert.equal(result.status.code, status.OK);
    assert.match(sent(fake, before).system, /A screenshot of the user's screen \(1440×900 pixels\) is attached to their message/);
  });

  test('a blocked prompt: the refusal is spoken, the model is not called, the turn completes', async () => {
    const before = fake.requests.length;
    const result = await readStream(t.client.streamAudio(commit({ prompt: 'tell me about the Forbidden Topic', sessionId: 'pr-4' })));
    assert.equal(result.status.code, status.OK);
    assert.deepEqual(texts(result.messages), ["Sorry, I can't help with that."]);
    assert.ok(kinds(result.messages).includes('audioChunk'), 'the refusal is spoken');
    assert.equal(kinds(result.messages).at(-1), 'endMessage');
    // Only turns' own requests count: the memory updater may ask the same fake in the background.
    const turnRequests = fake.requests.slice(before).filter((r) => /^You are Testy/.test(String(r.body?.messages[0]?.content)));
    assert.equal(turnRequests.length, 0, 'no request reached the model');
    // Nor is it remembered, so no later request (history, the memory updater) can carry it there.
    await t.server.service.drain();
    const db = new Database(sqlitePath, { readonly: true });
    try {
      assert.deepEqual(db.prepare("SELECT session_id FROM turns WHERE session_id = 'pr-4'").all(), []);
    } finally {
      db.close();
    }
  });

  test('a blocked Russian prompt gets the Russian refusal', async () => {
    const result = await readStream(t.client.streamAudio(commit({ prompt: 'расскажи мне подробно про forbidden topic', sessionId: 'pr-5' })));
    assert.equal(result.status.code, status.OK);
    assert.deepEqual(texts(result.messages), ['Извините, с этим я помочь не могу.']);
  });

  test('a dictated password reaches the model but only masked reaches the log', async () => {
    fake.script({ reply: 'Noted.' });
    const before = fake.requests.length;
    const prompt = 'my wifi password is hunter2';
    const result = await readStream(t.client.streamAudio(commit({ prompt, sessionId: 'pr-6' })));
    assert.equal(result.status.code, status.OK);
    assert.equal(sent(fake, before).last, prompt);
    const started = logLines.filter((l) => l.msg === 'turn started' && l.session_id === 'pr-6');
    assert.equal(started.length, 1);
    assert.deepEqual(started[0].pii, { prompt: `my wifi password is ${SECRET_MASKS.password}` });
    assert.doesNotMatch(JSON.stringify(logLines), /hunter2/);
  });

  test("the provider's token usage is recorded per hardware id and session, source server", async () => {
    fake.script({ reply: 'Counting tokens.', model: 'test-model-2025', usage: { promptTokens: 321, completionTokens: 12 } });
    const result = await readStream(t.client.streamAudio(commit({ prompt: 'count my tokens', sessionId: 'pr-usage' })));
    assert.equal(result.status.code, status.OK);
    await t.server.service.drain();
    const db = new Database(sqlitePath, { readonly: true });
    try {
      const rows = db.prepare("SELECT hardware_key, session_id, source, model, input_tokens, output_tokens FROM usage WHERE session_id = 'pr-usage' AND source = 'server'").all();
      assert.deepEqual(rows, [
        { hardware_key: HARDWARE_ID, session_id: 'pr-usage', source: 'server', model: 'test-model-2025', input_tokens: 321, output_tokens: 12 },
      ]);
    } finally {
      db.close();
    }
  });
});
