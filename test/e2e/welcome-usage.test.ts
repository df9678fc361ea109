import { strict as assert } from 'node:assert';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { UsageRequest, UsageResponse, WelcomeRequest, WelcomeResponse } from '../../src/gen/streaming.js';
import { HARDWARE_ID, kinds, readStream, startTestServer, testConfig, type TestServer } from '../support/harness.js';

describe('GenerateWelcomeAudio', () => {
  let t: TestServer;
  before(async () => {
    // The default greeting is cached by the start-up warm-up (one test proves it).
    t = await startTestServer(testConfig({ audio_generation: { warm_up_at_start: true } }));
  });
  after(() => t.close());

  const welcome = (fields: Partial<WelcomeRequest>) =>
    readStream<WelcomeResponse>(t.client.generateWelcomeAudio({ text: '', sessionId: '', voice: '', language: '', ...fields }));

  test('metadata exactly once and first, then audio chunks, then end_message', async () => {
    const result = await welcome({ text: 'Hello, welcome to the test.' });
    assert.equal(result.status.code, status.OK);
    const order = kinds(result.messages);
    assert.equal(order[0], 'metadata');
    assert.equal(order.filter((k) => k === 'metadata').length, 1);
    assert.equal(order.at(-1), 'endMessage');
    assert.ok(order.slice(1, -1).every((k) => k === 'audioChunk') && order.length > 2);
    const metadata = (result.messages[0].content as { metadata: { method: string; durationSec: number; sampleRate: number; channels: number; dtype: string } }).metadata;
    assert.equal(metadata.method, 'espeak');
    assert.equal(metadata.sampleRate, 48000);
    assert.equal(metadata.channels, 1);
    assert.equal(metadata.dtype, 'int16');
    const frames = result.messages.reduce((n, m) => n + (m.content?.$case === 'audioChunk' ? m.content.audioChunk.audioData.length / 2 : 0), 0);
    assert.ok(Math.abs(metadata.durationSec - frames / 48000) < 0.01, 'duration_sec matches the audio sent');
    for (const m of result.messages) {
      if (m.content?.$case !== 'audioChunk') continue;
      const chunk = m.content.audioChunk;
      assert.ok(chunk.audioData.length > 0 && chunk.audioData.length <= 49152, 'at most max_chunk_bytes');
      assert.deepEqual(chunk.shape, [chunk.audioData.length / 2]);
      assert.equal(chunk.sampleRate, 48000);
    }
  });

  test('a repeated greeting comes from the cache, with identical audio', async () => {
    const first = await welcome({ text: 'Cache me if you can.' });
    const second = await welcome({ text: 'Cache me if you can.' });
    const method = (r: typeof first) => (r.messages[0].content as { metadata: { method: string } }).metadata.method;
    assert.equal(method(first), 'espeak');
    assert.equal(method(second), 'cache');
    const audio = (r: typeof first) => Buffer.concat(r.messages.flatMap((m) => (m.content?.$case === 'audioChunk' ? [m.content.audioChunk.audioData] : [])));
    assert.ok(audio(first).equals(audio(second)));
  });

  test('empty text speaks the configured default greeting, warmed at start-up', async () => {
    const result = await welcome({});
    assert.equal(result.status.code, status.OK);
    assert.equal((result.messages[0].content as { metadata: { method: string } }).metadata.method, 'cache');
  });

  test('Russian text and the language field are spoken (not refused)', async () => {
    const result = await welcome({ text: 'Привет! Чем могу помочь?', language: 'ru' });
    assert.equal(result.status.code, status.OK);
    assert.ok(kinds(result.messages).includes('audioChunk'));
  });

  test('regression: text the engine cannot voice is INVALID_ARGUMENT "text has nothing to speak", not INTERNAL', async () => {
    for (const text of ['...', '-', ' - ', '\u0001\u0002\u0007', '\uFFFD\uFFFD', '?!', '\u200B']) {
      const result = await welcome({ text });
      assert.equal(result.status.code, status.INVALID_ARGUMENT, `${JSON.stringify(text)}: ${result.status.details}`);
      assert.deepEqual(kinds(result.messages), ['errorMessage']);
      assert.match((result.messages[0].content as { errorMessage: string }).errorMessage, /text has nothing to speak/);
    }
    // A pictograph has a name the engine says: not refused.
    assert.equal((await welcome({ text: '😀' })).status.code, status.OK);
  });

  test('text over the prompt limit is INVALID_ARGUMENT with one error_message', async () => {
    const result = await welcome({ text: 'x'.repeat(9000) });
    assert.equal(result.status.code, status.INVALID_ARGUMENT);
    assert.deepEqual(kinds(result.messages), ['errorMessage']);
  });
});

describe('ReportUsage', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(testConfig());
  });
  after(() => t.close());

  const report = (fields: Partial<UsageRequest>) =>
    promisify<UsageRequest, UsageResponse>(t.client.reportUsage.bind(t.client))({
      hardwareId: HARDWARE_ID,
      sessionId: 'usage-1',
      source: 'client',
      inputTokens: 120,
      outputTokens: 40,
      model: 'gemini-flash-lite',
      ...fields,
    });

  test('a valid record is accepted', async () => {
    const reply = await report({});
    assert.equal(reply.success, true);
  });

  for (const [name, fields, field] of [
    ['unknown hardware id', { hardwareId: 'unknown' }, /hardware_id/],
    ['negative tokens', { inputTokens: -1 }, /input_tokens/],
    ['bad session id', { sessionId: 'no spaces allowed' }, /session_id/],
  ] as const) {
    test(`${name} is INVALID_ARGUMENT`, async () => {
      const error = await report(fields).then(() => undefined, (e: ServiceError) => e);
      assert.equal(error?.code, status.INVALID_ARGUMENT);
      assert.match(error?.details ?? '', field);
    });
  }
});
