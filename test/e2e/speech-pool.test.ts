import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createTts } from '../../src/audio/create-tts.js';
import type { Config } from '../../src/config/schema.js';
import { clauseParts } from '../../src/text-processing/clause-marks.js';
import { PooledEspeakTts } from '../../src/audio/providers/espeak-pooled.js';
import { RequestPhase, type StreamResponse } from '../../src/gen/streaming.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

// Sentences of clearly different lengths: a sentence's audio in another's place would show. The
// second is made clause by clause (audio_generation.synthesis_workers.clause_min_chars), each a
// job of its own that may run on either worker.
const SENTENCES = [
  'Here is the short answer.',
  'The longer part of the answer takes a good deal more time to say out loud, as you will hear, than the first one did, and it goes on.',
  'Then a middle one to finish.',
];
const STREAMS = 16;
/** A sentence whose synthesis takes a while even in a warm worker (the crash tests stop it half-way). */
const LONG = Array.from({ length: 30 }, (_, i) => `Part ${i + 1} of a long greeting goes on for a while`).join(', ') + '.';

type AudioConfig = Config['audio_generation'];

/** Per sentence: its text and the frames of all its audio chunks, in wire order. */
function sentencesOf(messages: readonly StreamResponse[], config: AudioConfig): Array<{ text: string; frames: number }> {
  const { chunk_bytes: chunkBytes, max_chunk_bytes: maxChunkBytes } = config;
  const out: Array<{ text: string; frames: number; short: number }> = [];
  for (const [i, m] of messages.entries()) {
    const content = m.content;
    if (content?.$case === 'textChunk') out.push({ text: content.textChunk, frames: 0, short: 0 });
    if (content?.$case === 'audioChunk') {
      const data = content.audioChunk.audioData;
      const current = out.at(-1);
      assert.ok(current !== undefined, 'audio comes after its sentence text');
      current.frames += data.length / 2;
      // Only the last chunk of a clause part or of a slice may be short: more short ones would be
      // gaps. A chunk carrying a pause may be longer (audio_generation.max_chunk_bytes).
      assert.ok(data.length <= maxChunkBytes, `${data.length} bytes`);
      if (data.length < chunkBytes) current.short++;
    }
  }
  const { clause_min_chars: clauseMinChars, slice_sec: sliceSec } = config.synthesis_workers;
  for (const sentence of out) {
    const slices = sliceSec > 0 ? Math.floor(sentence.frames / config.sample_rate / sliceSec) : 0;
    const parts = clauseParts(sentence.text, clauseMinChars).length + slices;
    assert.ok(sentence.short <= parts, `"${sentence.text}": ${sentence.short} short chunks, ${parts} parts`);
  }
  return out;
}

describe('speech in worker threads, over gRPC', () => {
  let t: TestServer;
  let tts: PooledEspeakTts;
  const llm = new RecordingLlm((request) => (request.prompt.startsWith('long') ? LONG : SENTENCES.join(' ')));
  // Slices on whatever the shipped setting, so the parts of one sentence run on either worker, in
  // any order between streams, and must still come out whole and in order.
  const config = testConfig({ audio_generation: { synthesis_workers: { enabled: true, count: 2, slice_sec: 0.5 }, espeak: { engine: 'wasm' } } });
  before(async () => {
    const made = createTts(config.audio_generation);
    assert.ok(made instanceof PooledEspeakTts, 'the shipped settings put eSpeak in worker threads');
    tts = made;
    t = await startTestServer(config, { llm, tts });
  });
  after(() => t.close());

  // One device per stream, as in real use (a device may run only a few answers at once: limits).
  const turn = (prompt: string, sessionId: string, hardwareId = HARDWARE_ID) =>
    readStream(t.client.streamAudio({ prompt, hardwareId, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 }));

  /** Starts `call`, and kills every worker as soon as one begins a job; retried should the job end first. */
  async function withCrash<T>(call: () => Promise<T>): Promise<T> {
    const pool = tts.pool!;
    for (let attempt = 1; ; attempt++) {
      const crashed = pool.stats.crashed;
      const started = pool.stats.started;
      const result = call();
      while (pool.stats.started === started) await new Promise((resolve) => setImmediate(resolve));
      await Promise.all(pool.threads.map((worker) => worker.terminate()));
      const outcome = await result;
      if (pool.stats.crashed > crashed || attempt === 3) return outcome;
    }
  }

  test(`${STREAMS} answers at once: every stream gets each sentence's text, then all its audio, in order`, { timeout: 240_000 }, async () => {
    const alone = await turn('alone', 'pool-alone');
    assert.equal(alone.status.code, status.OK);
    const reference = sentencesOf(alone.messages, config.audio_generation);
    assert.deepEqual(reference.map((s) => s.text), SENTENCES);

    const results = await Promise.all(Array.from({ length: STREAMS }, (_, i) => turn(`question ${i}`, `pool-${i}`, `${HARDWARE_ID}-${i}`)));
    for (const [i, result] of results.entries()) {
      assert.equal(result.status.code, status.OK, `stream ${i}: ${result.status.details}`);
      const order = kinds(result.messages);
      const collapsed = order.filter((k, j) => k !== 'audioChunk' || order[j - 1] !== 'audioChunk');
      assert.deepEqual(collapsed, [...SENTENCES.flatMap(() => ['textChunk', 'audioChunk']), 'endMessage'], `stream ${i}: wire order`);
      const spoken = sentencesOf(result.messages, config.audio_generation);
      assert.deepEqual(spoken.map((s) => s.text), SENTENCES);
      for (const [j, sentence] of spoken.entries()) {
        // eSpeak's length varies from call to call (by up to ~500 frames, 10 ms, per clause part);
        // a missing or extra chunk is 2048 frames.
        const expected = reference[j]!.frames;
        assert.ok(Math.abs(sentence.frames - expected) < 1024, `stream ${i}, sentence ${j + 1}: ${sentence.frames} frames, alone ${expected}`);
      }
    }
  });

  test('a worker dying during a greeting: one error_message and UNAVAILABLE; the pool replaces it and speaks again', { timeout: 240_000 }, async () => {
    const result = await withCrash(() => readStream(t.client.generateWelcomeAudio({ text: LONG, voice: '', language: '', sessionId: 'crash-welcome' })));
    assert.equal(result.status.code, status.UNAVAILABLE);
    assert.deepEqual(kinds(result.messages), ['errorMessage']);

    const next = await turn('after the crash', 'crash-after-1');
    assert.equal(next.status.code, status.OK);
    assert.equal(kinds(next.messages).at(-1), 'endMessage');
  });

  test('a worker dying mid-answer: a quiet stop (status OK, no end_message, no error_message); the next turn is whole', { timeout: 240_000 }, async () => {
    const result = await withCrash(() => turn('long answer please', 'crash-turn'));
    assert.equal(result.status.code, status.OK);
    const order = kinds(result.messages);
    assert.equal(order[0], 'textChunk');
    assert.ok(!order.includes('endMessage') && !order.includes('errorMessage'), `a quiet stop: ${order.join(',')}`);

    const next = await turn('after the crash', 'crash-after-2');
    assert.equal(next.status.code, status.OK);
    assert.deepEqual(sentencesOf(next.messages, config.audio_generation).map((s) => s.text), SENTENCES);
  });
});
