import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { credentials, status } from '@grpc/grpc-js';
import { createTts } from '../../src/audio/create-tts.js';
import type { Pcm, TtsProvider, VoiceRequest } from '../../src/audio/provider.js';
import { RequestPhase, StreamingServiceClient } from '../../src/gen/streaming.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server.js';
import { grpcHealth } from '../support/health.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, testConfig } from '../support/harness.js';

/** The real eSpeak engine, whose start-up warm-up waits until the test opens a gate (or fails). */
class GatedTts implements TtsProvider {
  readonly #inner: TtsProvider;
  readonly #gate: Promise<void>;
  open!: () => void;
  fail!: (error: Error) => void;
  warmCalls = 0;

  constructor(inner: TtsProvider) {
    this.#inner = inner;
    this.#gate = new Promise((resolve, reject) => {
      this.open = resolve;
      this.fail = reject;
    });
    // Failed before warm() awaits it: not an unhandled rejection.
    this.#gate.catch(() => undefined);
  }

  get name(): string {
    return this.#inner.name;
  }

  async warm(): Promise<void> {
    this.warmCalls++;
    await this.#gate;
    await this.#inner.warm();
  }

  resolveVoice(text: string, request: VoiceRequest): string {
    return this.#inner.resolveVoice(text, request);
  }

  synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
    return this.#inner.synthesize(text, voice, signal);
  }
}

const config = testConfig({ audio_generation: { warm_up_at_start: true } });

async function readiness(httpUrl: string): Promise<{ status: number; missing: string[] }> {
  const res = await fetch(`${httpUrl}/ready`);
  const body = (await res.json()) as { missing?: Array<{ check: string }> };
  return { status: res.status, missing: (body.missing ?? []).map((m) => m.check) };
}

describe('start-up order: the ports open first, the speech warm-up follows', () => {
  // Before the ports opened first, startServer itself waited for the warm-up: this test then hangs
  // until its timeout.
  test('while the engine warms up: /ready 503 (tts), gRPC health NOT_SERVING, and a turn is already served; then ready', { timeout: 120_000 }, async () => {
    const tts = new GatedTts(createTts(config.audio_generation));
    // startServer resolves although the warm-up cannot finish: the ports did not wait for it.
    const server = await startServer(config, { logger: createLogger('silent'), tts, llm: new RecordingLlm('Served while warming up.') });
    const address = `127.0.0.1:${server.grpcPort}`;
    const httpUrl = `http://127.0.0.1:${server.httpPort}`;
    const client = new StreamingServiceClient(address, credentials.createInsecure());
    try {
      assert.equal((await fetch(`${httpUrl}/health`)).status, 200);
      assert.deepEqual(await readiness(httpUrl), { status: 503, missing: ['tts'] });
      assert.equal(await grpcHealth(address), 'NOT_SERVING');
      assert.equal(await grpcHealth(address, 'streaming.StreamingService'), 'NOT_SERVING');

      const turn = await readStream(
        client.streamAudio({ prompt: 'hello', hardwareId: HARDWARE_ID, sessionId: 'warming-1', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 }),
      );
      assert.equal(turn.status.code, status.OK);
      assert.deepEqual(kinds(turn.messages).filter((k, i, all) => k !== all[i - 1]), ['textChunk', 'audioChunk', 'endMessage']);
      assert.equal(tts.warmCalls, 1);

      tts.open();
      await server.ready;
      assert.deepEqual(await readiness(httpUrl), { status: 200, missing: [] });
      assert.equal(await grpcHealth(address), 'SERVING');
      assert.equal(await grpcHealth(address, 'streaming.StreamingService'), 'SERVING');
    } finally {
      client.close();
      await server.shutdown();
    }
  });

  test('a warm-up that fails leaves the server not ready (ready rejects, /ready 503, NOT_SERVING)', async () => {
    const tts = new GatedTts(createTts(config.audio_generation));
    const server = await startServer(config, { logger: createLogger('silent'), tts, llm: new RecordingLlm() });
    const address = `127.0.0.1:${server.grpcPort}`;
    try {
      tts.fail(new Error('engine cannot load'));
      await assert.rejects(server.ready, /engine cannot load/);
      assert.deepEqual(await readiness(`http://127.0.0.1:${server.httpPort}`), { status: 503, missing: ['tts'] });
      assert.equal(await grpcHealth(address), 'NOT_SERVING');
    } finally {
      await server.shutdown();
    }
  });

  test('a shutdown during the warm-up ends it: ready rejects, the server stops', async () => {
    const tts = new GatedTts(createTts(config.audio_generation));
    const server = await startServer(config, { logger: createLogger('silent'), tts, llm: new RecordingLlm() });
    const stopped = server.shutdown();
    tts.open();
    await assert.rejects(server.ready);
    await stopped;
  });
});
