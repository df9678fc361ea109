import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { RequestPhase, type InterruptResponse, type StreamRequest } from '../../src/gen/streaming.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { commandsDuring, REDIS_URL, redisAnswers } from '../support/redis.js';

const available = await redisAnswers();
if (!available && process.env.CI) throw new Error(`CI must reach Redis at ${REDIS_URL}`);

function request(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: '', hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

describe('two instances sharing Redis', { skip: available ? false : 'no Redis at 127.0.0.1:6379' }, () => {
  const prefix = `nexy-test-${randomUUID()}:`;
  const llm = new RecordingLlm('First sentence here. And a second one.');
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    const config = testConfig({ session_management: { backend: 'redis', redis: { url: REDIS_URL, key_prefix: prefix } } });
    a = await startTestServer(config, { llm });
    b = await startTestServer(config, { llm });
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  test('COLLECTs on one instance are merged into a COMMIT on the other', async () => {
    const sessionId = `r-${randomUUID()}`;
    const collect = (seq: number, text: string) =>
      readStream(a.client.streamAudio(request({ sessionId, phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: seq, chunkText: text })));
    assert.deepEqual(kinds((await collect(1, 'what is')).messages), ['endMessage']);
    await collect(2, 'is the weather');
    await collect(1, 'stale words');
    const result = await readStream(b.client.streamAudio(request({ sessionId, prompt: 'in Oslo' })));
    assert.equal(result.status.code, status.OK);
    assert.equal(llm.requests.at(-1)?.prompt, 'what is the weather in Oslo');
    assert.equal(await b.server.service.activeTurns, 0);
  });

  test('single-flight holds across instances', async () => {
    const sessionId = `r-${randomUUID()}`;
    llm.hold();
    const started = llm.started();
    const first = readStream(a.client.streamAudio(request({ sessionId, prompt: 'tell me' })));
    await started;
    const second = await readStream(b.client.streamAudio(request({ sessionId, prompt: 'again' })));
    llm.release();
    assert.equal(second.status.code, status.ABORTED);
    assert.deepEqual(kinds(second.messages), ['errorMessage']);
    assert.equal((await first).status.code, status.OK);
  });

  test('InterruptSession on one instance stops the turn running on the other', async () => {
    const sessionId = `r-${randomUUID()}`;
    llm.hold();
    const started = llm.started();
    const running = readStream(a.client.streamAudio(request({ sessionId, prompt: 'a long story' })));
    await started;
    const reply = await promisify<{ hardwareId: string }, InterruptResponse>(b.client.interruptSession.bind(b.client))({ hardwareId: HARDWARE_ID });
    assert.equal(reply.success, true);
    assert.deepEqual(reply.interruptedSessions, [sessionId]);
    const result = await running;
    llm.release();
    assert.equal(result.status.code, status.CANCELLED);
    assert.ok(!kinds(result.messages).includes('endMessage'));
    const after = await readStream(b.client.streamAudio(request({ sessionId, prompt: 'once more' })));
    assert.equal(after.status.code, status.OK, 'the lease was released by the interrupted turn');
  });

  test('through the whole service, a COLLECT is one Redis call and a COMMIT three', async (t) => {
    // MONITOR sees every command; the ones naming this run's keys are the servers' (commands a
    // script runs inside Redis are reported with source "lua" and are not round trips).
    const watcher = new Redis(REDIS_URL);
    // A turn releases its lease after its status reached the client: on a loaded machine the
    // release of the test before can land in the first count. Wait until no lease is held.
    while ((await watcher.keys(`${prefix}lease:*`)).length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const monitor = await watcher.monitor();
    t.after(() => {
      monitor.disconnect();
      watcher.disconnect();
    });
    const commandsOf = (op: () => Promise<unknown>): Promise<string[]> =>
      commandsDuring(monitor, watcher, op, (args, source) => source !== 'lua' && args.some((arg) => arg.includes(prefix)));
    const sessionId = `r-${randomUUID()}`;
    const collect = (seq: number, text: string) =>
      readStream(a.client.streamAudio(request({ sessionId, phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: seq, chunkText: text })));
    await collect(1, 'what');
    const evalsha = ['evalsha'];
    assert.deepEqual(await commandsOf(() => collect(2, 'is the')), evalsha, 'COLLECT');
    assert.deepEqual(await commandsOf(() => collect(2, 'stale')), evalsha, 'stale COLLECT');
    const commit = await commandsOf(() => readStream(b.client.streamAudio(request({ sessionId, prompt: 'time' }))));
    // Lease acquire, take, lease release (the first COMMIT on b sends the scripts' text once).
    assert.equal(commit.length, 3, commit.join(' '));
    assert.equal(llm.requests.at(-1)?.prompt, 'what is the time');
  });

  test('InterruptSession drops COLLECT buffers held in Redis', async () => {
    const sessionId = `r-${randomUUID()}`;
    await readStream(a.client.streamAudio(request({ sessionId, phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: 1, chunkText: 'forget this' })));
    await promisify<{ hardwareId: string }, InterruptResponse>(b.client.interruptSession.bind(b.client))({ hardwareId: HARDWARE_ID });
    await readStream(b.client.streamAudio(request({ sessionId, prompt: 'fresh' })));
    assert.equal(llm.requests.at(-1)?.prompt, 'fresh');
  });
});
