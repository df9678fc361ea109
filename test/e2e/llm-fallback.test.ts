import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ConfigError } from '../../src/config/load.js';
import { RequestPhase, type StreamRequest } from '../../src/gen/streaming.js';
import { createLlm } from '../../src/llm/create-llm.js';
import { createLogger } from '../../src/observability/logger.js';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-server.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { HARDWARE_ID, kinds, readStream, startTestServer, testConfig, type TestServer } from '../support/harness.js';

function commit(prompt: string, sessionId: string): StreamRequest {
  return { prompt, hardwareId: HARDWARE_ID, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 };
}

function texts(messages: ReadonlyArray<{ content?: { $case: string; textChunk?: string } }>): string[] {
  return messages.flatMap((m) => (m.content?.$case === 'textChunk' ? [m.content.textChunk ?? ''] : []));
}

describe('LLM fallback end to end (openai, then gemini, both local fakes)', () => {
  let openai: FakeOpenAi;
  let gemini: FakeGemini;
  let t: TestServer;
  before(async () => {
    [openai, gemini] = await Promise.all([startFakeOpenAi(), startFakeGemini()]);
    t = await startTestServer(
      testConfig({
        text_processing: {
          provider: 'openai',
          fallback: ['gemini'],
          openai: { base_url: openai.url, api_key: 'sk-test', model: 'gpt-test' },
          gemini: { base_url: gemini.url, api_key: 'gemini-test-key', model: 'gemini-test' },
          // High enough that these few failing turns never open a breaker.
          breaker: { failure_threshold: 100 },
        },
      }),
    );
  });
  beforeEach(() => {
    openai.reset();
    gemini.reset();
  });
  after(async () => {
    await t.close();
    await Promise.all([openai.close(), gemini.close()]);
  });

  test('the primary fails before its first token: the secondary answers, spoken and completed', async () => {
    assert.equal(t.server.llm.name, 'openai>gemini');
    openai.script({ error: { status: 500, message: 'upstream-detail-500' } });
    gemini.script({ reply: 'Gemini answers instead. All is well.' });
    const result = await readStream(t.client.streamAudio(commit('who answers', 'fb-before')));
    assert.equal(result.status.code, status.OK);
    assert.deepEqual(texts(result.messages), ['Gemini answers instead.', 'All is well.']);
    const order = kinds(result.messages);
    assert.ok(order.includes('audioChunk'));
    assert.equal(order.at(-1), 'endMessage');
    assert.ok(!order.includes('errorMessage'));
    assert.doesNotMatch(JSON.stringify(result.messages), /upstream-detail-500/);
    assert.equal(openai.requests.length, 1);
    const sent = gemini.requests[0];
    assert.equal(sent.path, '/v1beta/models/gemini-test:streamGenerateContent?alt=sse');
    assert.deepEqual(sent.body?.contents.at(-1), { role: 'user', parts: [{ text: 'who answers' }] });
  });

  test('the primary fails mid-answer: the stream stops quietly and the secondary is never asked', async () => {
    openai.script({ chunks: ['The first sentence made it out.', ' The second', ' one never'], dropAfterChunks: 2 });
    const result = await readStream(t.client.streamAudio(commit('tell me more', 'fb-mid')));
    assert.equal(result.status.code, status.OK);
    const order = kinds(result.messages);
    assert.deepEqual(texts(result.messages), ['The first sentence made it out.']);
    assert.ok(!order.includes('errorMessage') && !order.includes('endMessage'), order.join());
    assert.equal(await openai.requests[0].ended, 'server-dropped');
    assert.equal(gemini.requests.length, 0);
  });

  test('every provider fails before its first token: one error_message for the last failure', async () => {
    openai.script({ error: { status: 503 } });
    gemini.script({ error: { status: 429 } });
    const result = await readStream(t.client.streamAudio(commit('anyone there', 'fb-all')));
    assert.equal(result.status.code, status.RESOURCE_EXHAUSTED);
    assert.deepEqual(kinds(result.messages), ['errorMessage']);
    assert.doesNotMatch(JSON.stringify(result.messages), /fake|do not show/i);
  });
});

describe('choosing the language model chain from config', () => {
  const logger = createLogger('silent');
  const chosen = (text_processing: NonNullable<Parameters<typeof testConfig>[0]>['text_processing']): string =>
    createLlm(testConfig({ text_processing }).text_processing, { logger }).name;

  test('auto: openai when an OpenAI key or URL is set, else gemini with a Gemini key, else the degraded notice', () => {
    assert.equal(chosen({ provider: 'auto', openai: { api_key: 'sk-x' }, gemini: { api_key: 'g-x' } }), 'openai');
    assert.equal(chosen({ provider: 'auto', gemini: { api_key: 'g-x' } }), 'gemini');
    assert.equal(chosen({ provider: 'auto' }), 'degraded');
    assert.equal(chosen({ provider: 'auto', fallback: ['scripted'] }), 'scripted');
  });

  test('the fallback list follows the provider, each provider once', () => {
    assert.equal(chosen({ provider: 'openai', fallback: ['openai', 'gemini', 'scripted'], gemini: { api_key: 'g-x' } }), 'openai>gemini>scripted');
    assert.equal(chosen({ provider: 'auto', fallback: ['gemini'], gemini: { api_key: 'g-x' } }), 'gemini');
  });

  test('gemini chosen without a key is a configuration error at start-up', () => {
    assert.throws(
      () => testConfig({ text_processing: { provider: 'scripted', fallback: ['gemini'] } }),
      (error) => error instanceof ConfigError && error.problems.some((p) => p.startsWith('text_processing.gemini.api_key')),
    );
  });
});
