import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { RequestPhase, type StreamRequest, type StreamResponse } from '../../src/gen/streaming.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

const SERVING = 1;
const NOT_SERVING = 2;

/** grpc.health.v1.Health/Check by hand: request field 1 is the service name, reply field 1 the status. */
function healthStatus(address: string, service: string): Promise<number> {
  const client = new Client(address, credentials.createInsecure());
  const name = Buffer.from(service);
  const request = Buffer.concat([Buffer.from([0x0a, name.length]), name]);
  const identity = (b: Buffer) => b;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', identity, identity, request, (error: ServiceError | null, reply?: Buffer) => {
      client.close();
      if (error) reject(error);
      else resolve(reply && reply.length >= 2 && reply[0] === 0x08 ? reply[1] : 0);
    });
  });
}

function commit(sessionId: string): StreamRequest {
  return { prompt: 'tell me something', hardwareId: HARDWARE_ID, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 };
}

/** Starts a turn and resolves once the model received it (the model is held after its first sentence). */
async function runningTurn(t: TestServer, llm: RecordingLlm, sessionId: string) {
  const started = llm.started();
  const ended = readStream<StreamResponse>(t.client.streamAudio(commit(sessionId)));
  await started;
  // Wrapped: an async function returning the promise itself would wait for the stream's end.
  return { ended };
}

describe('drain on shutdown', () => {
  test('refuses new COMMITs, says NOT_SERVING on every health service and 503 on /ready, and lets a running answer finish', async () => {
    const llm = new RecordingLlm('First sentence here. And the rest of the answer.');
    const t = await startTestServer(testConfig({ server: { shutdown_grace_ms: 600_000 } }), { llm });
    try {
      for (const service of ['', 'streaming.StreamingService']) assert.equal(await healthStatus(t.address, service), SERVING);
      llm.hold();
      const running = (await runningTurn(t, llm, 'drain-running')).ended;
      const stopped = t.server.shutdown();

      for (const service of ['', 'streaming.StreamingService']) {
        assert.equal(await healthStatus(t.address, service), NOT_SERVING, `health "${service}"`);
      }
      const ready = await fetch(`${t.httpUrl}/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(((await ready.json()) as { missing: unknown }).missing, [{ check: 'server', missing: 'shutting down' }]);
      const refused = await readStream(t.client.streamAudio(commit('drain-new')));
      assert.equal(refused.status.code, status.UNAVAILABLE);
      assert.deepEqual(kinds(refused.messages), ['errorMessage']);
      assert.match((refused.messages[0].content as { errorMessage: string }).errorMessage, /shutting down/);

      llm.release();
      const finished = await running;
      assert.equal(finished.status.code, status.OK);
      assert.equal(kinds(finished.messages).at(-1), 'endMessage', 'the running answer completed');
      await stopped;
    } finally {
      await t.close();
    }
  });

  test('an answer still running when the grace is over is aborted, and shutdown completes', async () => {
    const llm = new RecordingLlm('First sentence here. And the rest, which never comes.');
    const t = await startTestServer(testConfig({ server: { shutdown_grace_ms: 200, shutdown_abort_wait_ms: 5_000 } }), { llm });
    try {
      llm.hold();
      const running = (await runningTurn(t, llm, 'drain-aborted')).ended;
      await t.server.shutdown();
      const ended = await running;
      // The held model had not finished its first sentence: nothing was sent, so one error_message.
      assert.equal(ended.status.code, status.UNAVAILABLE);
      assert.deepEqual(kinds(ended.messages), ['errorMessage']);
      assert.match((ended.messages[0].content as { errorMessage: string }).errorMessage, /shutting down/);
      assert.equal(llm.aborted.length, 1);
      assert.match(String((llm.aborted[0] as Error).message), /shutting down/);
    } finally {
      llm.release();
      await t.close();
    }
  });
});
