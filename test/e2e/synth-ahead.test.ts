import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status, type StatusObject } from '@grpc/grpc-js';
import { EspeakTts, espeakOptionsFromConfig } from '../../src/audio/providers/espeak.js';
import { RequestPhase, type StreamResponse } from '../../src/gen/streaming.js';
import { HARDWARE_ID, kinds, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { RecordingTts } from '../support/tts-stubs.js';

// The first sentence alone is far more audio (about 7 s, ~650 KB) than the client's buffers, the
// HTTP/2 windows and the server's high-water mark hold together: while the client does not
// read, the server cannot finish sending it.
const SENTENCES = [
  'Once upon a time there was a small server that spoke every answer aloud one sentence after another all day long.',
  'It never kept its listeners waiting.',
  'Every sentence was ready before the one before it had ended.',
  'The end.',
];

interface Received {
  readonly message: StreamResponse;
  readonly at: number;
}

describe('synthesize ahead, send in order', () => {
  let t: TestServer;
  let tts: RecordingTts;
  const config = testConfig();
  before(async () => {
    tts = new RecordingTts(new EspeakTts(espeakOptionsFromConfig(config.audio_generation)));
    t = await startTestServer(config, { llm: new RecordingLlm(SENTENCES.join(' ')), tts });
  });
  after(() => t.close());

  test('sentence 2 is synthesized while sentence 1 is still streaming to a slow client, and the wire order holds', { timeout: 60_000 }, async () => {
    const first = tts.syntheses.length; // the greeting warmed at start-up came before
    const turn = () => tts.syntheses.slice(first);
    const call = t.client.streamAudio({ prompt: 'tell me a story', hardwareId: HARDWARE_ID, sessionId: 'ahead-1', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 });
    const received: Received[] = [];
    const ended = new Promise<StatusObject>((resolve) => call.on('status', resolve));
    let paused!: () => void;
    const isPaused = new Promise<void>((resolve) => (paused = resolve));
    call.on('data', (message: StreamResponse) => {
      received.push({ message, at: performance.now() });
      // A slow client: it stops reading after the first piece of audio.
      if (message.content?.$case === 'audioChunk' && received.length === 2) {
        call.pause();
        paused();
      }
    });

    await Promise.all([isPaused, tts.until(() => turn()[1]?.endedAt !== undefined)]);
    const seenWhilePaused = kinds(received.map((r) => r.message));
    call.resume();
    const result = await ended;

    assert.equal(result.code, status.OK);
    assert.deepEqual(seenWhilePaused, ['textChunk', 'audioChunk'], 'sentence 2 was synthesized while the client held sentence 1');
    const [one, two] = turn();
    assert.equal(one.text, SENTENCES[0]);
    assert.equal(two.text, SENTENCES[1]);
    // The last audio chunk of sentence 1 reached the client after sentence 2 was already synthesized.
    const textAt = received.map((r, i) => (r.message.content?.$case === 'textChunk' ? i : -1)).filter((i) => i >= 0);
    const lastOfOne = received[textAt[1] - 1];
    assert.equal(lastOfOne.message.content?.$case, 'audioChunk');
    assert.ok(two.endedAt! < lastOfOne.at, 'sentence 2 was ready before sentence 1 finished streaming');
    assert.ok(two.startedAt >= one.startedAt);

    // Order on the wire: each sentence's text, then all its audio, sentence after sentence.
    const messages = received.map((r) => r.message);
    const texts = messages.flatMap((m) => (m.content?.$case === 'textChunk' ? [m.content.textChunk] : []));
    assert.deepEqual(texts, SENTENCES);
    const order = kinds(messages);
    const collapsed = order.filter((k, i) => k !== 'audioChunk' || order[i - 1] !== 'audioChunk');
    assert.deepEqual(collapsed, [...SENTENCES.flatMap(() => ['textChunk', 'audioChunk']), 'endMessage']);
    assert.deepEqual(turn().map((s) => s.text), SENTENCES, 'each sentence synthesized once, in order');
  });
});
