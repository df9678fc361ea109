import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { RequestPhase, type StreamRequest } from '../../src/gen/streaming.js';
import type { FakeOpenAi } from '../fakes/openai-server.js';
import { startOpenAiBackedServer } from '../support/openai-backed-server.js';
import { makeWebp } from '../support/images.js';
import { HARDWARE_ID, kinds, readStream, type TestServer } from '../support/harness.js';

function commit(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: 'hello', hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

describe('the openai provider end to end (local fake of the Chat Completions API)', () => {
  let fake: FakeOpenAi;
  let t: TestServer;
  let close: () => Promise<void>;
  before(async () => {
    ({ fake, t, close } = await startOpenAiBackedServer({ provider: 'auto', prompts: { assistant_name: 'the test assistant' } }));
  });
  after(() => close());

  test('auto picks openai when a base URL is set; the reply is spoken and completed', async () => {
    fake.script({ reply: 'Paris is sunny. Take sunglasses.' });
    const result = await readStream(t.client.streamAudio(commit({ prompt: 'weather in Paris', sessionId: 'oa-1' })));
    assert.equal(result.status.code, status.OK);
    assert.equal(t.server.llm.name, 'openai');
    const texts = result.messages.flatMap((m) => (m.content?.$case === 'textChunk' ? [m.content.textChunk] : []));
    assert.deepEqual(texts, ['Paris is sunny.', 'Take sunglasses.']);
    assert.ok(kinds(result.messages).includes('audioChunk'));
  });

  test('POST /chat/completions, streamed: system prompt first, the prompt and screenshot in the last user message', async () => {
    fake.script({ reply: 'I see a window.' });
    const webp = await makeWebp(100, 50);
    const before = fake.requests.length;
    await readStream(t.client.streamAudio(commit({ prompt: 'what do you see', sessionId: 'oa-2', screenshot: webp.toString('base64') })));
    const sent = fake.requests[before];
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.authorization, 'Bearer sk-test');
    const body = sent.body as unknown as { model: string; stream: boolean; messages: Array<{ role: string; content: unknown }> };
    assert.equal(body.model, 'test-model');
    assert.equal(body.stream, true);
    assert.equal(body.messages[0].role, 'system');
    assert.match(String(body.messages[0].content), /You are the test assistant\b/);
    const last = body.messages.at(-1)!;
    assert.equal(last.role, 'user');
    assert.deepEqual(last.content, [
      { type: 'text', text: 'what do you see' },
      { type: 'image_url', image_url: { url: `data:image/webp;base64,${webp.toString('base64')}` } },
    ]);
  });

  test('an upstream 503 before any text: one error_message without upstream text, UNAVAILABLE', async () => {
    fake.script({ error: { status: 503, message: 'upstream-internal-detail-xyz' } });
    const result = await readStream(t.client.streamAudio(commit({ sessionId: 'oa-3' })));
    assert.equal(result.status.code, status.UNAVAILABLE);
    assert.deepEqual(kinds(result.messages), ['errorMessage']);
    assert.doesNotMatch(JSON.stringify(result.messages), /upstream-internal-detail-xyz/);
  });

  test('an upstream 429 is RESOURCE_EXHAUSTED', async () => {
    fake.script({ error: { status: 429, message: 'rate limited' } });
    const result = await readStream(t.client.streamAudio(commit({ sessionId: 'oa-4' })));
    assert.equal(result.status.code, status.RESOURCE_EXHAUSTED);
  });

  test('cancelling the gRPC stream closes the upstream LLM HTTP request', async () => {
    fake.script({ reply: 'First sentence here. Then a very slow rest of the answer that never ends.', chunkChars: 8, chunkDelayMs: 200 });
    const before = fake.requests.length;
    const call = t.client.streamAudio(commit({ sessionId: 'oa-cancel' }));
    const result = readStream(call);
    const exchange = await fake.waitForRequest(before);
    call.cancel();
    assert.equal(await exchange.ended, 'client-closed');
    assert.equal((await result).status.code, status.CANCELLED);
  });

  test('InterruptSession closes the upstream LLM HTTP request too', async () => {
    fake.script({ reply: 'Slow answer. '.repeat(20), chunkChars: 4, chunkDelayMs: 100 });
    const before = fake.requests.length;
    const result = readStream(t.client.streamAudio(commit({ sessionId: 'oa-interrupt' })));
    const exchange = await fake.waitForRequest(before);
    await new Promise<void>((resolve, reject) =>
      t.client.interruptSession({ hardwareId: HARDWARE_ID }, (error) => (error ? reject(error) : resolve())),
    );
    assert.equal(await exchange.ended, 'client-closed');
    assert.equal((await result).status.code, status.CANCELLED);
  });

  test("a client deadline ends the stream with DEADLINE_EXCEEDED and closes the upstream request", async () => {
    fake.script({ reply: 'Never finishing. '.repeat(50), chunkChars: 4, chunkDelayMs: 100 });
    const before = fake.requests.length;
    const call = t.client.streamAudio(commit({ sessionId: 'oa-deadline' }), new Metadata(), { deadline: Date.now() + 600 });
    const result = await readStream(call);
    assert.equal(result.status.code, status.DEADLINE_EXCEEDED);
    assert.equal(await fake.requests[before].ended, 'client-closed');
  });
});
