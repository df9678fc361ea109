import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { RequestPhase, type StreamRequest, type StreamResponse, type WelcomeResponse } from '../../src/gen/streaming.js';
import { startFakeOpenAiSpeech, type FakeOpenAiSpeech } from '../fakes/openai-speech-server.js';
import { HARDWARE_ID, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

const REPLY = 'Hello there. The fallback speaks this.';

function request(sessionId: string): StreamRequest {
  return { prompt: 'say something', hardwareId: HARDWARE_ID, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 };
}

function audioOf(messages: StreamResponse[]) {
  return messages.flatMap((m) => (m.content?.$case === 'audioChunk' ? [m.content.audioChunk] : []));
}

async function fallbacks(t: TestServer): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nexy_provider_fallbacks_total{') && l.includes('area="tts"') && l.includes('from="openai_speech"'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('TTS fallback chain over gRPC', () => {
  let fake: FakeOpenAiSpeech;
  let t: TestServer;
  before(async () => {
    fake = await startFakeOpenAiSpeech({ error: { status: 500 } });
    // With the start-up warm-up, whose greeting (spoken by eSpeak, the primary failing) must not be cached.
    const config = testConfig({ audio_generation: { provider: 'openai_speech', openai_speech: { base_url: fake.url }, warm_up_at_start: true } });
    t = await startTestServer(config, { llm: new RecordingLlm(REPLY) });
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  test('the OpenAI-compatible engine answers 500: eSpeak speaks every sentence, audio still 48 kHz mono', async () => {
    const asked = fake.requests.length;
    const before = await fallbacks(t);
    const result = await readStream(t.client.streamAudio(request('tts-fallback-1')));
    assert.equal(result.status.code, status.OK);
    assert.equal((result.messages.at(-1)?.content as { endMessage?: string }).endMessage, 'completed');
    // Both sentences went to the primary first, and both were spoken anyway.
    assert.deepEqual(
      fake.requests.slice(asked).map((r) => r.body?.input),
      ['Hello there.', 'The fallback speaks this.'],
    );
    const order = result.messages.map((m) => m.content?.$case);
    const collapsed = order.filter((k, i) => k !== 'audioChunk' || order[i - 1] !== 'audioChunk');
    assert.deepEqual(collapsed, ['textChunk', 'audioChunk', 'textChunk', 'audioChunk', 'endMessage']);
    const chunks = audioOf(result.messages);
    for (const chunk of chunks) {
      assert.equal(chunk.sampleRate, 48000);
      assert.equal(chunk.channels, 1);
      assert.equal(chunk.dtype, 'int16');
      assert.deepEqual(chunk.shape, [chunk.audioData.length / 2]);
    }
    const seconds = chunks.reduce((n, c) => n + c.audioData.length / 2, 0) / 48000;
    assert.ok(seconds > 1, `eSpeak's speech lasts more than a second (got ${seconds.toFixed(2)} s)`);
    assert.equal((await fallbacks(t)) - before, 2);
  });

  test('/status shows the chain', async () => {
    const body = (await (await fetch(`${t.httpUrl}/status`)).json()) as { providers: { tts: string } };
    assert.equal(body.providers.tts, 'openai_speech>espeak');
  });

  test('once the engine recovers it speaks again, and the greeting eSpeak made at start was not cached', async () => {
    fake.script({});
    const before = await fallbacks(t);
    const result = await readStream(t.client.streamAudio(request('tts-fallback-2')));
    assert.equal(result.status.code, status.OK);
    // The fake's 0.5 s tone per sentence (plus the pauses), not eSpeak's longer speech.
    const seconds = audioOf(result.messages).reduce((n, c) => n + c.audioData.length / 2, 0) / 48000;
    assert.ok(seconds > 1 && seconds < 1.6, `got ${seconds.toFixed(2)} s`);
    assert.equal(await fallbacks(t), before);

    const welcome = () => readStream<WelcomeResponse>(t.client.generateWelcomeAudio({ text: '', sessionId: '', voice: '', language: '' }));
    const method = (r: Awaited<ReturnType<typeof welcome>>) => (r.messages[0]?.content as { metadata: { method: string } }).metadata.method;
    assert.equal(method(await welcome()), 'openai_speech');
    assert.equal(method(await welcome()), 'cache');
  });
});
