import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status, type StatusObject } from '@grpc/grpc-js';
import { EspeakTts, espeakOptionsFromConfig } from '../../src/audio/providers/espeak.js';
import { RequestPhase, type StreamResponse } from '../../src/gen/streaming.js';
import { HARDWARE_ID, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { RecordingTts } from '../support/tts-stubs.js';

const HIGH_WATER_BYTES = 16_384;
const LOOKAHEAD = 2;
// Twelve sentences of about six seconds each: some 7 MB of audio, hundreds of times the bound.
const SENTENCES = Array.from(
  { length: 12 },
  (_, i) => `Sentence number ${i + 1} of this long answer goes on for a while so that its audio takes several seconds to play.`,
);

/** `nexy_stream_queued_bytes` now (this test's server runs one stream). */
async function queuedNow(t: TestServer): Promise<number> {
  return (await t.server.metrics.streamQueuedBytes.get()).values[0]?.value ?? Number.NaN;
}

/** A sample of `nexy_stream_queued_peak_bytes`: `_sum` or `_count`. */
async function peakHistogram(t: TestServer, sample: 'sum' | 'count'): Promise<number> {
  const values = (await t.server.metrics.streamQueuedPeakBytes.get()).values;
  return values.find((v) => v.metricName === `nexy_stream_queued_peak_bytes_${sample}`)?.value ?? Number.NaN;
}

describe('backpressure: a slow client', () => {
  let t: TestServer;
  let tts: RecordingTts;
  const config = testConfig({ grpc: { stream_high_water_bytes: HIGH_WATER_BYTES }, pipeline: { synthesis_lookahead: LOOKAHEAD } });
  // What one stream may hold: the high-water mark plus the one message that crossed it.
  const bound = HIGH_WATER_BYTES + config.audio_generation.max_chunk_bytes;
  before(async () => {
    tts = new RecordingTts(new EspeakTts(espeakOptionsFromConfig(config.audio_generation)));
    t = await startTestServer(config, { llm: new RecordingLlm(SENTENCES.join(' ')), tts });
  });
  after(() => t.close());

  test('does not make the server buffer the answer: queued bytes and look-ahead stay bounded, and the turn completes once it reads', { timeout: 90_000 }, async () => {
    const first = tts.syntheses.length; // the greeting warmed at start-up came before
    const turn = () => tts.syntheses.slice(first);
    const call = t.client.streamAudio({ prompt: 'a long answer please', hardwareId: HARDWARE_ID, sessionId: 'slow-1', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 });
    const messages: StreamResponse[] = [];
    const ended = new Promise<StatusObject>((resolve) => call.on('status', resolve));
    let paused!: () => void;
    const isPaused = new Promise<void>((resolve) => (paused = resolve));
    call.on('data', (message: StreamResponse) => {
      messages.push(message);
      if (messages.length === 1) {
        call.pause();
        paused();
      }
    });

    // The client reads nothing more; the server works until its look-ahead is full.
    await Promise.all([isPaused, tts.until(() => turn()[LOOKAHEAD - 1]?.endedAt !== undefined)]);
    const synthesizedWhilePaused = turn().length;
    const queuedWhilePaused = await queuedNow(t);
    call.resume();
    const result = await ended;

    assert.equal(result.code, status.OK);
    assert.ok(synthesizedWhilePaused <= LOOKAHEAD, `only the look-ahead is synthesized for a client that does not read (${synthesizedWhilePaused})`);
    assert.ok(queuedWhilePaused <= bound, `queued ${queuedWhilePaused} B while paused, bound ${bound} B`);
    assert.equal(await peakHistogram(t, 'count'), 1);
    const peak = await peakHistogram(t, 'sum');
    assert.ok(peak > 0 && peak <= bound, `the most the server held for this stream: ${peak} B, bound ${bound} B`);
    assert.equal(await queuedNow(t), 0, 'nothing is left queued');

    const audioBytes = messages.reduce((n, m) => n + (m.content?.$case === 'audioChunk' ? m.content.audioChunk.audioData.length : 0), 0);
    assert.ok(audioBytes > 100 * bound, `the answer (${audioBytes} B of audio) is far larger than the bound`);
    const texts = messages.flatMap((m) => (m.content?.$case === 'textChunk' ? [m.content.textChunk] : []));
    assert.deepEqual(texts, SENTENCES);
    assert.equal(messages.at(-1)?.content?.$case, 'endMessage');
  });
});
