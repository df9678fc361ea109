import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { RequestPhase, type StreamRequest, type StreamResponse } from '../../src/gen/streaming.js';
import { makeWebp } from '../support/images.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function request(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: '', hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

function audioOf(messages: StreamResponse[]) {
  return messages.flatMap((m) => (m.content?.$case === 'audioChunk' ? [m.content.audioChunk] : []));
}

describe('StreamAudio COMMIT', () => {
  let t: TestServer;
  const llm = new RecordingLlm('Hello there. The weather is sunny today! Do you need anything else?');
  before(async () => {
    t = await startTestServer(testConfig(), { llm });
  });
  after(() => t.close());

  test('streams each sentence as text then its audio, and ends with "completed" and OK', async () => {
    const result = await readStream(t.client.streamAudio(request({ prompt: 'what is the weather', sessionId: 'sess-1' })));
    assert.equal(result.status.code, status.OK);
    const order = kinds(result.messages);
    assert.equal(order.at(-1), 'endMessage');
    assert.equal((result.messages.at(-1)?.content as { endMessage: string }).endMessage, 'completed');
    const texts = result.messages.flatMap((m) => (m.content?.$case === 'textChunk' ? [m.content.textChunk] : []));
    assert.deepEqual(texts, ['Hello there.', 'The weather is sunny today!', 'Do you need anything else?']);
    // text, audio+, text, audio+, ...: every sentence's audio follows its text.
    const collapsed = order.filter((k, i) => k !== 'audioChunk' || order[i - 1] !== 'audioChunk');
    assert.deepEqual(collapsed, ['textChunk', 'audioChunk', 'textChunk', 'audioChunk', 'textChunk', 'audioChunk', 'endMessage']);
    assert.equal(order.filter((k) => k === 'errorMessage').length, 0);
  });

  test('every audio chunk is raw int16 PCM at 48000 Hz mono, shape matching its bytes, never silent', async () => {
    const result = await readStream(t.client.streamAudio(request({ prompt: 'hello', sessionId: 'sess-2' })));
    const chunks = audioOf(result.messages);
    assert.ok(chunks.length > 0);
    for (const chunk of chunks) {
      assert.ok(chunk.audioData.length > 0);
      assert.ok(chunk.audioData.length <= 49152, 'at most max_chunk_bytes (a chunk carrying a pause is longer than chunk_bytes)');
      assert.equal(chunk.audioData.length % 2, 0);
      assert.equal(chunk.dtype, 'int16');
      assert.equal(chunk.sampleRate, 48000);
      assert.equal(chunk.channels, 1);
      assert.deepEqual(chunk.shape, [chunk.audioData.length / 2]);
      assert.notEqual(chunk.audioData.subarray(0, 4).toString('ascii'), 'RIFF', 'no WAV header');
      const samples = new Int16Array(chunk.audioData.buffer, chunk.audioData.byteOffset, chunk.audioData.length / 2);
      assert.ok(samples.some((s) => s !== 0), 'no chunk of pure digital silence');
    }
    const seconds = chunks.reduce((n, c) => n + c.audioData.length / 2, 0) / 48000;
    assert.ok(seconds > 2, `the three sentences last more than 2 s (got ${seconds.toFixed(2)} s)`);
  });

  test('the given session id comes back in the x-session-id initial metadata', async () => {
    const result = await readStream(t.client.streamAudio(request({ prompt: 'hi', sessionId: 'my-session.01' })));
    assert.deepEqual(result.metadata?.get('x-session-id'), ['my-session.01']);
  });

  test('without a session id the server makes a UUIDv4 and sends it', async () => {
    const result = await readStream(t.client.streamAudio(request({ prompt: 'hi' })));
    const [id] = result.metadata?.get('x-session-id') ?? [];
    assert.match(String(id), UUID_V4);
    const again = await readStream(t.client.streamAudio(request({ prompt: 'hi' })));
    assert.notEqual(again.metadata?.get('x-session-id')[0], id, 'a fresh id each time');
  });

  test('the prompt is the last user message and the screenshot an image part of it', async () => {
    const webp = await makeWebp(640, 400);
    const before = llm.requests.length;
    await readStream(
      t.client.streamAudio(request({ prompt: 'what is on my screen', sessionId: 'sess-img', screenshot: webp.toString('base64'), screenWidth: 1280, screenHeight: 800 })),
    );
    const sent = llm.requests[before];
    assert.equal(sent.prompt, 'what is on my screen');
    assert.equal(sent.image?.base64, webp.toString('base64'));
    assert.equal(sent.image?.mimeType, 'image/webp');
    assert.equal(sent.image?.width, 1280);
    assert.equal(sent.image?.height, 800);
    assert.ok(!sent.system.includes('what is on my screen'), 'the prompt is not folded into the system prompt');
  });

  test('phase UNSPECIFIED (old clients) is served as COMMIT', async () => {
    const result = await readStream(t.client.streamAudio(request({ prompt: 'hello', phase: RequestPhase.REQUEST_PHASE_UNSPECIFIED })));
    assert.equal(result.status.code, status.OK);
    assert.ok(kinds(result.messages).includes('audioChunk'));
  });

  test('a second COMMIT of a running session gets ABORTED and the first is not disturbed', async () => {
    llm.hold();
    const started = llm.started();
    const first = readStream(t.client.streamAudio(request({ prompt: 'tell me a story', sessionId: 'single' })));
    await started;
    const second = await readStream(t.client.streamAudio(request({ prompt: 'again', sessionId: 'single' })));
    llm.release();
    assert.equal(second.status.code, status.ABORTED);
    assert.deepEqual(kinds(second.messages), ['errorMessage']);
    const firstResult = await first;
    assert.equal(firstResult.status.code, status.OK);
    assert.equal(kinds(firstResult.messages).at(-1), 'endMessage');
    const next = await readStream(t.client.streamAudio(request({ prompt: 'and now', sessionId: 'single' })));
    assert.equal(next.status.code, status.OK, 'the session is free again once the first turn ended');
  });
});
