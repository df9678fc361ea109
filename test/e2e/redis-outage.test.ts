import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { RequestPhase, type InterruptResponse, type StreamRequest } from '../../src/gen/streaming.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { redisAnswers } from '../support/redis.js';

const REDIS = { host: '127.0.0.1', port: 6379 };

const available = await redisAnswers(`redis://${REDIS.host}:${REDIS.port}`);
if (!available && process.env.CI) throw new Error('CI must reach Redis at 127.0.0.1:6379');

function request(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: '', hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

describe('Redis cut and restored under a running server', { skip: available ? false : 'no Redis at 127.0.0.1:6379' }, () => {
  const prefix = `nexy-outage-${randomUUID()}:`;
  const llm = new RecordingLlm('Fine. Thanks.');
  let proxy: FaultProxy;
  let server: TestServer;
  const unhandled: unknown[][] = [];
  const consoleError = console.error;

  before(async () => {
    // ioredis reports an 'error' event nobody listens to with console.error; none may happen.
    console.error = (...args: unknown[]) => {
      if (String(args[0]).includes('[ioredis]')) unhandled.push(args);
      consoleError(...args);
    };
    proxy = await FaultProxy.start(REDIS);
    server = await startTestServer(
      testConfig({
        session_management: {
          backend: 'redis',
          redis: { url: `redis://127.0.0.1:${proxy.port}`, key_prefix: prefix, command_timeout_ms: 300, reconnect_max_delay_ms: 100 },
        },
      }),
      { llm },
    );
  });
  after(async () => {
    console.error = consoleError;
    await server?.close();
    await proxy?.close();
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const collect = (sessionId: string, seq: number, text: string) =>
    readStream(server.client.streamAudio(request({ sessionId, phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: seq, chunkText: text })));
  const commit = (sessionId: string, prompt: string) => readStream(server.client.streamAudio(request({ sessionId, prompt })));
  const interrupt = () =>
    promisify<{ hardwareId: string }, InterruptResponse>(server.client.interruptSession.bind(server.client))({ hardwareId: HARDWARE_ID });
  const ready = async () => {
    const res = await fetch(`${server.httpUrl}/ready`);
    return { code: res.status, body: (await res.json()) as { missing?: Array<{ check: string; missing: string }> } };
  };
  /** Polls /ready until it answers `code` (bounded): reconnection runs in the background. */
  const until = async (code: number) => {
    for (let i = 0; i < 200; i++) {
      if ((await ready()).code === code) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`/ready never answered ${code}`);
  };

  /** Redis is down (cut) or hangs (stall): what needs it answers UNAVAILABLE, /ready says redis. */
  async function assertUnavailable(t: { diagnostic(message: string): void }) {
    const sessionId = `o-${randomUUID()}`;
    const started = Date.now();
    const collected = await collect(sessionId, 1, 'what is');
    const committed = await commit(sessionId, 'the time');
    t.diagnostic(`COLLECT + COMMIT with Redis away answered in ${Date.now() - started} ms`);
    assert.equal(collected.status.code, status.UNAVAILABLE, collected.status.details);
    assert.deepEqual(kinds(collected.messages), ['errorMessage']);
    assert.equal(committed.status.code, status.UNAVAILABLE, committed.status.details);
    assert.match(committed.status.details, /Redis/);
    await assert.rejects(interrupt(), { code: status.UNAVAILABLE });
    const { code, body } = await ready();
    assert.equal(code, 503);
    assert.match(body.missing?.find((m) => m.check === 'sessions')?.missing ?? '', /redis/);
    assert.equal(server.server.service.activeTurns, 0, 'a failed COMMIT holds no turn slot');
  }

  async function assertServing() {
    const sessionId = `o-${randomUUID()}`;
    assert.equal((await collect(sessionId, 1, 'what is')).status.code, status.OK);
    const committed = await commit(sessionId, 'the time');
    assert.equal(committed.status.code, status.OK, committed.status.details);
    assert.equal(llm.requests.at(-1)?.prompt, 'what is the time');
    assert.equal((await interrupt()).success, true);
  }

  test('connection refused: UNAVAILABLE, /ready names redis, and it recovers without a restart', async (t) => {
    await assertServing();
    proxy.cut();
    await until(503);
    await assertUnavailable(t);
    proxy.restore();
    await until(200);
    await assertServing();
    assert.deepEqual(unhandled, []);
  });

  test('Redis hanging: calls fail after command_timeout_ms with UNAVAILABLE, and it recovers', async (t) => {
    proxy.stall();
    await assertUnavailable(t);
    proxy.restore();
    await until(200);
    await assertServing();
    assert.deepEqual(unhandled, []);
  });
});
