/**
 * The load-balanced deployment, whole, on this machine: deploy/nginx/nexy.conf run by the nginx
 * binary in front of two `nexy serve` processes that share Redis sessions and PostgreSQL memory.
 * Every call goes through nginx; its access log (a format added here) says which instance
 * served each call. Each instance has its own fake model, which records the prompt it got.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { credentials, status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { RequestPhase, StreamingServiceClient, type InterruptResponse, type StreamRequest } from '../../src/gen/streaming.js';
import { openMemoryDb } from '../../src/memory/db.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { HARDWARE_ID, kinds, readStream, testConfig } from '../support/harness.js';
import { PG_URL, probePostgres, withPg } from '../support/postgres.js';
import { REDIS_URL, redisAnswers } from '../support/redis.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/nexy.mjs');
const LEASE_TTL_MS = 3000;

const nginxBinary = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']
  .map((dir) => join(dir, 'nginx'))
  .find((path) => existsSync(path));

const missing = [
  nginxBinary === undefined ? 'nginx is not installed (apt-get install nginx; .ci/run installs it)' : undefined,
  (await redisAnswers()) ? undefined : `no Redis at ${REDIS_URL}`,
  (await probePostgres()) === undefined ? undefined : `no PostgreSQL at ${PG_URL}`,
].filter((m) => m !== undefined);
// CI installs nginx and runs both services: there, anything missing is a failure, not a skip.
if (missing.length > 0 && process.env.CI) throw new Error(`CI must run the nginx test: ${missing.join('; ')}`);

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Instance {
  readonly name: string;
  readonly fake: FakeOpenAi;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly child: ChildProcess;
}

async function startInstance(name: string, dir: string, fake: FakeOpenAi, schema: string, prefix: string): Promise<Instance> {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      'grpc: { host: 127.0.0.1, port: 0 }',
      'http: { host: 127.0.0.1, port: 0 }',
      'logging: { level: info }',
      `text_processing: { provider: openai, openai: { base_url: "${fake.url}", api_key: test } }`,
      `memory_management: { backend: postgres, postgres: { url: "${PG_URL}", schema: ${schema} }, updater: { enabled: false } }`,
      `session_management: { backend: redis, redis: { url: "${REDIS_URL}", key_prefix: "${prefix}", lease_ttl_ms: ${LEASE_TTL_MS} } }`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [BIN, 'serve', '--config', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<{ grpc: number; http: number }>((resolve, reject) => {
    let text = '';
    let found = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (found) return;
      text += chunk.toString();
      const match = /"grpc_port":(\d+),"http_port":(\d+)/u.exec(text);
      // The ports open before the speech warm-up; the instance is ready (/ready 200) after it.
      if (match && text.includes('"msg":"server ready"')) {
        found = true;
        resolve({ grpc: Number(match[1]), http: Number(match[2]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`instance ${name} exited (${code}) before it was ready:\n${text}`)));
  });
  return { name, fake, grpcPort: ports.grpc, httpPort: ports.http, child };
}

interface Nginx {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly child: ChildProcess;
  /**
   * Upstream address (`127.0.0.1:PORT`) of every gRPC call logged since the last read, in the
   * order the calls ended, with the method's name.
   */
  newUpstreams(): string[];
  newCalls(): Array<{ method: string; upstream: string }>;
  /**
   * The upstreams of the next `count` calls logged since the last read (more if more came),
   * waiting up to 5 s for their lines: nginx writes a call's line just after its reply has left.
   */
  upstreamsOf(count: number): Promise<string[]>;
  /** The first call of `method` logged since the last read, waiting up to 5 s for its line. */
  nextCall(method: string): Promise<{ method: string; upstream: string } | undefined>;
}

/**
 * Runs nginx as this test's own process: a main config written here (paths in a temp dir, an
 * access log of upstream addresses) that includes deploy/nginx/nexy.conf with the instances'
 * and the balancer's ports put in place of the file's example ones.
 */
async function startNginx(dir: string, a: Instance, b: Instance): Promise<Nginx> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const site = readFileSync(join(ROOT, 'deploy/nginx/nexy.conf'), 'utf8')
    .replace('127.0.0.1:50061', `127.0.0.1:${a.grpcPort}`)
    .replace('127.0.0.1:50062', `127.0.0.1:${b.grpcPort}`)
    .replace('127.0.0.1:8081', `127.0.0.1:${a.httpPort}`)
    .replace('127.0.0.1:8082', `127.0.0.1:${b.httpPort}`)
    .replace('listen 50051 http2;', `listen 127.0.0.1:${grpcPort} http2;`)
    .replace('listen 8080;', `listen 127.0.0.1:${httpPort};`);
  assert.ok(site.includes(`${a.grpcPort}`) && site.includes(`${httpPort}`), 'the example addresses were found in nexy.conf');
  const prefix = join(dir, 'nginx');
  mkdirSync(prefix);
  // Workers may run as another user when the test runs as root: they write only here.
  chmodSync(prefix, 0o777);
  writeFileSync(join(prefix, 'nexy.conf'), site);
  const log = join(prefix, 'access.log');
  writeFileSync(
    join(prefix, 'nginx.conf'),
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'error.log')} warn;`,
      'events { worker_connections 256; }',
      'http {',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(prefix, kind)};`),
      "  log_format upstreams '$request_uri $upstream_addr $status';",
      `  access_log ${log} upstreams;`,
      `  include ${join(prefix, 'nexy.conf')};`,
      '}',
    ].join('\n'),
  );
  const child = spawn(nginxBinary!, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = once(child, 'exit');
  // Up when the balancer's HTTP side answers (bounded: nginx starts in milliseconds).
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${httpPort}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (i > 100 || child.exitCode !== null) {
      child.kill('SIGKILL');
      await exited;
      assert.fail(`nginx did not start: ${existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8') : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let read = 0;
  const newCalls = () => {
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    const fresh = lines.slice(read);
    read = lines.length;
    // "$upstream_addr" lists every instance tried ("A, B"); the last one answered.
    return fresh
      .filter((l) => l.startsWith('/streaming.'))
      .map((l) => ({ method: l.split(' ')[0].split('/').at(-1)!, upstream: l.split(' ').slice(1, -1).join(' ').split(', ').at(-1)! }));
  };
  const nextCall = async (method: string) => {
    const seen: Array<{ method: string; upstream: string }> = [];
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
      seen.push(...newCalls());
      const call = seen.find((c) => c.method === method);
      if (call) return call;
    }
    return undefined;
  };
  const upstreamsOf = async (count: number) => {
    const seen: string[] = [];
    for (const deadline = Date.now() + 5000; ; await new Promise((resolve) => setTimeout(resolve, 20))) {
      seen.push(...newCalls().map((c) => c.upstream));
      if (seen.length >= count || Date.now() >= deadline) return seen;
    }
  };
  return { grpcPort, httpPort, child, newCalls, nextCall, upstreamsOf, newUpstreams: () => newCalls().map((c) => c.upstream) };
}

/** The user prompt of a chat request: the last user message's text. */
function promptOf(fake: FakeOpenAi, index: number): string {
  const messages = fake.requests[index]?.body?.messages ?? [];
  const content = messages.filter((m) => m.role === 'user').at(-1)?.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => ('text' in part ? part.text : '')).join('');
}

function request(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: '', hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

describe('two instances behind nginx (deploy/nginx/nexy.conf)', { skip: missing.length > 0 ? missing.join('; ') : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-nginx-'));
  const schema = `nexy_lb_${randomBytes(6).toString('hex')}`;
  const prefix = `nexy-lb-${randomUUID()}:`;
  let a: Instance;
  let b: Instance;
  let nginx: Nginx;
  let client: StreamingServiceClient;
  const byPort = (upstream: string | undefined) => [a, b].find((i) => upstream === `127.0.0.1:${i.grpcPort}`);

  before(async () => {
    // Migrated once here, so the two instances do not race to create the schema.
    const section = testConfig({ memory_management: { backend: 'postgres', postgres: { url: PG_URL, schema } } }).memory_management;
    const opened = await openMemoryDb({ backend: 'postgres', postgres: section.postgres });
    await opened.db.destroy();
    const [fakeA, fakeB] = await Promise.all([startFakeOpenAi(), startFakeOpenAi()]);
    [a, b] = await Promise.all([startInstance('a', dir, fakeA, schema, prefix), startInstance('b', dir, fakeB, schema, prefix)]);
    nginx = await startNginx(dir, a, b);
    client = new StreamingServiceClient(`127.0.0.1:${nginx.grpcPort}`, credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    for (const child of [nginx?.child, a?.child, b?.child]) {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    }
    await Promise.all([a?.fake.close(), b?.fake.close()]);
    await withPg((pg) => pg.query(`drop schema if exists ${schema} cascade`));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const collect = (sessionId: string, seq: number, text: string) =>
    readStream(client.streamAudio(request({ sessionId, phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: seq, chunkText: text })));
  const interrupt = () => promisify<{ hardwareId: string }, InterruptResponse>(client.interruptSession.bind(client))({ hardwareId: HARDWARE_ID });

  test('the balancer answers /health and /ready from the instances', async () => {
    for (const path of ['/health', '/ready']) {
      const res = await fetch(`http://127.0.0.1:${nginx.httpPort}${path}`);
      assert.equal(res.status, 200, `${path}: ${await res.text()}`);
    }
  });

  test('COLLECTs and the COMMIT of one session land on different instances and are merged', async () => {
    nginx.newUpstreams();
    const sessionId = `lb-${randomUUID()}`;
    assert.equal((await collect(sessionId, 1, 'what is')).status.code, status.OK);
    assert.equal((await collect(sessionId, 2, 'is the weather')).status.code, status.OK);
    const before = { a: a.fake.requests.length, b: b.fake.requests.length };
    const result = await readStream(client.streamAudio(request({ sessionId, prompt: 'in Oslo' })));
    assert.equal(result.status.code, status.OK, result.status.details);
    assert.ok(kinds(result.messages).includes('audioChunk'));
    const upstreams = await nginx.upstreamsOf(3);
    assert.equal(upstreams.length, 3, upstreams.join(' | '));
    const committedOn = byPort(upstreams[2]);
    assert.ok(committedOn, upstreams[2]);
    assert.ok(upstreams.slice(0, 2).some((u) => byPort(u) !== committedOn), `a COLLECT landed on the other instance: ${upstreams.join(' | ')}`);
    assert.equal(committedOn.fake.requests.length, before[committedOn.name as 'a' | 'b'] + 1);
    assert.equal(promptOf(committedOn.fake, committedOn.fake.requests.length - 1), 'what is the weather in Oslo');
  });

  test('InterruptSession stops a stream served by the other instance', async () => {
    for (const instance of [a, b]) instance.fake.script({ hangAfterChunks: 1, reply: 'A long story begins. It goes on.' });
    try {
      nginx.newUpstreams();
      const sessionId = `lb-${randomUUID()}`;
      const counts = [a.fake.requests.length, b.fake.requests.length];
      const running = readStream(client.streamAudio(request({ sessionId, prompt: 'tell me a story' })));
      // The turn has reached its model: it is running on one instance.
      await Promise.race([a.fake.waitForRequest(counts[0]), b.fake.waitForRequest(counts[1])]);
      const reply = await interrupt();
      assert.equal(reply.success, true);
      assert.deepEqual(reply.interruptedSessions, [sessionId]);
      const result = await running;
      assert.equal(result.status.code, status.CANCELLED, result.status.details);
      const streamOn = a.fake.requests.length > counts[0] ? a : b;
      // nginx writes a call's access-log line just after the reply has left: wait for it.
      const interruptOn = byPort((await nginx.nextCall('InterruptSession'))?.upstream);
      assert.ok(interruptOn && interruptOn !== streamOn, `the stream ran on ${streamOn.name}, the interrupt reached ${interruptOn?.name}`);
      // The stopped turn aborted its model request.
      await streamOn.fake.waitForClose(streamOn.fake.requests.length - 1);
    } finally {
      for (const instance of [a, b]) instance.fake.script({});
    }
  });

  test('streams are spread over both instances', async () => {
    nginx.newUpstreams();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => readStream(client.streamAudio(request({ sessionId: `lb-${randomUUID()}`, prompt: 'hello' })))),
    );
    assert.deepEqual(
      results.map((r) => r.status.code),
      results.map(() => status.OK),
    );
    const served = (await nginx.upstreamsOf(6)).map((u) => byPort(u)?.name);
    assert.ok(served.includes('a') && served.includes('b'), served.join(','));
  });

  test("a killed instance's session is served by the survivor once its lease expires", async (t) => {
    for (const instance of [a, b]) instance.fake.script({ hangAfterChunks: 1, reply: 'A long story begins. It goes on.' });
    nginx.newUpstreams();
    const sessionId = `lb-${randomUUID()}`;
    const counts = [a.fake.requests.length, b.fake.requests.length];
    const running = readStream(client.streamAudio(request({ sessionId, prompt: 'tell me a story' })));
    await Promise.race([a.fake.waitForRequest(counts[0]), b.fake.waitForRequest(counts[1])]);
    const victim = a.fake.requests.length > counts[0] ? a : b;
    const survivor = victim === a ? b : a;
    for (const instance of [a, b]) instance.fake.script({});
    victim.child.kill('SIGKILL');
    await once(victim.child, 'exit');
    const killedAt = Date.now();
    assert.notEqual((await running).status.code, status.OK, 'the stream of the killed instance ended');

    // The survivor refuses the session (ABORTED) while the dead instance's lease lives, then
    // serves it. Bounded: several lease lifetimes.
    const refusals: number[] = [];
    let result;
    for (let attempt = 0; attempt < 40; attempt++) {
      result = await readStream(client.streamAudio(request({ sessionId, prompt: 'are you there' })));
      if (result.status.code !== status.ABORTED) break;
      refusals.push(result.status.code);
      await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS / 10));
    }
    t.diagnostic(`served by the survivor ${Date.now() - killedAt} ms after the kill (lease_ttl_ms ${LEASE_TTL_MS}), ${refusals.length} ABORTED before`);
    assert.equal(result?.status.code, status.OK, result?.status.details);
    // Logged: the killed stream, each refusal, the answer.
    assert.equal(byPort((await nginx.upstreamsOf(refusals.length + 2)).at(-1)), survivor);
    assert.equal(promptOf(survivor.fake, survivor.fake.requests.length - 1), 'are you there');
  });
});
