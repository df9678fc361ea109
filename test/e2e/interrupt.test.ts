import { strict as assert } from 'node:assert';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { RequestPhase, type InterruptResponse, type StreamRequest, type StreamingServiceClient } from '../../src/gen/streaming.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

function interrupt(client: StreamingServiceClient, hardwareId: string): Promise<InterruptResponse> {
  return promisify<{ hardwareId: string }, InterruptResponse>(client.interruptSession.bind(client))({ hardwareId });
}

function commit(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: 'tell me a long story', hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

describe('InterruptSession', () => {
  let t: TestServer;
  const llm = new RecordingLlm('Once upon a time. There was a server. It streamed audio all day long.');
  before(async () => {
    t = await startTestServer(testConfig(), { llm });
  });
  after(() => t.close());

  test('stops every active turn of the hardware id: CANCELLED, nothing more sent, upstream aborted', async () => {
    llm.hold();
    const started = llm.started();
    const a = readStream(t.client.streamAudio(commit({ sessionId: 'int-a' })));
    await started;
    const startedB = llm.started();
    const b = readStream(t.client.streamAudio(commit({ sessionId: 'int-b' })));
    await startedB;
    const other = readStream(t.client.streamAudio(commit({ sessionId: 'int-other', hardwareId: 'OTHER-MAC' })));

    const aborts = llm.aborted.length;
    const reply = await interrupt(t.client, HARDWARE_ID);
    assert.equal(reply.success, true);
    assert.deepEqual([...reply.interruptedSessions].sort(), ['int-a', 'int-b']);
    assert.ok(reply.message.length > 0);

    for (const result of [await a, await b]) {
      assert.equal(result.status.code, status.CANCELLED);
      const order = kinds(result.messages);
      assert.ok(!order.includes('endMessage') && !order.includes('errorMessage'), order.join());
    }
    assert.ok(llm.aborted.length >= aborts + 2, 'the model streams saw the abort');
    llm.release();
    const otherResult = await other;
    assert.equal(otherResult.status.code, status.OK, 'another device is not touched');
  });

  test('is idempotent: a repeat succeeds with an empty list', async () => {
    const reply = await interrupt(t.client, HARDWARE_ID);
    assert.equal(reply.success, true);
    assert.deepEqual(reply.interruptedSessions, []);
  });

  test('leaves no "interrupt active" state: the next StreamAudio is served normally', async () => {
    await interrupt(t.client, HARDWARE_ID);
    const result = await readStream(t.client.streamAudio(commit({ sessionId: 'after-interrupt' })));
    assert.equal(result.status.code, status.OK);
    assert.equal(kinds(result.messages).at(-1), 'endMessage');
  });

  test('drops pending COLLECT buffers of that hardware id', async () => {
    const collect = { ...commit({ sessionId: 'int-collect' }), phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: 1, prompt: '', chunkText: 'forget me' };
    await readStream(t.client.streamAudio(collect));
    await interrupt(t.client, HARDWARE_ID);
    await readStream(t.client.streamAudio(commit({ sessionId: 'int-collect', prompt: 'fresh start' })));
    assert.equal(llm.requests.at(-1)?.prompt, 'fresh start');
  });

  for (const bad of ['', 'unknown', 'UNKNOWN', 'x'.repeat(129), 'bad id']) {
    test(`an invalid hardware_id ${JSON.stringify(bad.slice(0, 10))} is INVALID_ARGUMENT`, async () => {
      const error = await interrupt(t.client, bad).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      assert.equal(error?.code, status.INVALID_ARGUMENT);
      assert.match(error?.details ?? '', /hardware_id/);
    });
  }
});
