import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { status, type ServiceError } from '@grpc/grpc-js';
import { RequestPhase, type UsageRequest, type UsageResponse } from '../../src/gen/streaming.js';
import { captureLog } from '../support/log-capture.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { PG_URL, probePostgres, withPg } from '../support/postgres.js';

const pgProblem = await probePostgres();

/**
 * PostgreSQL cut and restored under a running server, through a proxy the test controls
 * (#11 defect 1: a connection dropped with a query in flight emitted an unhandled pg 'error'
 * and the process exited; here that would fail this file as an uncaught exception).
 */
describe('PostgreSQL cut and restored', { skip: pgProblem === undefined ? undefined : `no PostgreSQL at ${PG_URL} (${pgProblem})` }, () => {
  const schema = `nexy_outage_${process.pid}_${randomBytes(4).toString('hex')}`;
  const llm = new RecordingLlm('Fine, thanks.');
  let proxy: FaultProxy;
  let t: TestServer;
  const log = captureLog();
  const logged = log.lines;

  before(async () => {
    const target = new URL(PG_URL);
    proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    target.port = String(proxy.port);
    const config = testConfig({
      memory_management: { backend: 'postgres', postgres: { url: target.toString(), schema, pool_max: 4 }, updater: { enabled: false } },
    });
    t = await startTestServer(config, { llm, logger: log.logger });
  });
  after(async () => {
    await t.close();
    await proxy.close();
    await withPg((client) => client.query(`drop schema if exists "${schema}" cascade`));
  });

  const usage = (sessionId: string) =>
    promisify<UsageRequest, UsageResponse>(t.client.reportUsage.bind(t.client))({
      hardwareId: HARDWARE_ID,
      sessionId,
      source: 'client',
      inputTokens: 1,
      outputTokens: 1,
      model: 'm',
    });
  const usageStatus = (sessionId: string) => usage(sessionId).then(() => status.OK, (e: ServiceError) => e.code);
  const turn = (sessionId: string) =>
    readStream(t.client.streamAudio({ prompt: 'how are you?', hardwareId: HARDWARE_ID, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 }));
  const ready = async () => {
    const res = await fetch(`${t.httpUrl}/ready`);
    return { code: res.status, body: (await res.json()) as { missing?: Array<{ check: string; missing: string }> } };
  };

  test('queries in flight when the connection drops fail with UNAVAILABLE; the process stays up', async () => {
    assert.equal(await usageStatus('before'), status.OK);
    proxy.hold();
    const held = once(proxy, 'held');
    const inFlight = [usageStatus('f1'), usageStatus('f2'), usageStatus('f3')];
    await held;
    proxy.cut();
    assert.deepEqual(await Promise.all(inFlight), [status.UNAVAILABLE, status.UNAVAILABLE, status.UNAVAILABLE]);
  });

  test('while it is down: memory work is UNAVAILABLE, turns answer without memory, /ready names memory', async () => {
    assert.equal(await usageStatus('down'), status.UNAVAILABLE);
    const answer = await turn('down-turn');
    assert.equal(answer.status.code, status.OK, answer.status.details);
    assert.equal(kinds(answer.messages).at(-1), 'endMessage');
    const { code, body } = await ready();
    assert.equal(code, 503);
    assert.deepEqual(body.missing?.map((m) => m.check), ['memory']);
  });

  test('restored: everything works again without a restart', async () => {
    proxy.restore();
    assert.equal(await usageStatus('after'), status.OK);
    assert.equal((await ready()).code, 200);
    const answer = await turn('after-turn');
    assert.equal(answer.status.code, status.OK);
    await t.server.service.drain();
    const saved = await withPg((client) => client.query(`select count(*)::int as n from "${schema}".turns where session_id = 'after-turn'`));
    assert.equal(saved.rows[0].n, 1, 'the turn after the outage is saved');
    // A store that is away is not a bug: its failures are logged in a line each, without a stack.
    assert.deepEqual(logged.filter((l) => /"stack"/.test(l)), []);
    assert.ok(logged.some((l) => /"kind":"unavailable"/.test(l)));
  });
});
