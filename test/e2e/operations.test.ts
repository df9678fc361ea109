import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { credentials, loadPackageDefinition, type Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { HARDWARE_ID, readStream, startTestServer, testConfig, type TestServer } from '../support/harness.js';

const run = promisify(execFile);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (res: Response): Promise<any> => res.json();

describe('operations: gRPC health, reflection, HTTP endpoints', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(testConfig());
  });
  after(() => t.close());

  test('grpc.health.v1.Health says SERVING for the server and for StreamingService', async () => {
    const pkg = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client } } };
    };
    const client = new pkg.grpc.health.v1.Health(t.address, credentials.createInsecure()) as Client & {
      check(req: { service: string }, cb: (e: Error | null, r: { status: string }) => void): void;
    };
    try {
      for (const service of ['', 'streaming.StreamingService']) {
        const reply = await promisify(client.check.bind(client))({ service });
        assert.equal(reply.status, 'SERVING');
      }
    } finally {
      client.close();
    }
  });

  test('server reflection lets a generic tool (buf curl) list and call the service with no proto file', async () => {
    const url = `http://${t.address}`;
    const list = await run('npx', ['buf', 'curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--list-methods', url]);
    assert.match(list.stdout, /streaming\.StreamingService\/StreamAudio/);
    assert.match(list.stdout, /streaming\.StreamingService\/InterruptSession/);
    assert.match(list.stdout, /grpc\.health\.v1\.Health\/Check/);
    const call = await run('npx', [
      'buf', 'curl', '--protocol', 'grpc', '--http2-prior-knowledge',
      '--data', JSON.stringify({ hardware_id: HARDWARE_ID }),
      `${url}/streaming.StreamingService/InterruptSession`,
    ]);
    assert.equal(JSON.parse(call.stdout).success, true);
  });

  test('GET /health is 200 JSON while the process runs', async () => {
    const res = await fetch(`${t.httpUrl}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal((await json(res)).status, 'ok');
  });

  test('GET /ready says what is missing: with the scripted model it is ready', async () => {
    const res = await fetch(`${t.httpUrl}/ready`);
    assert.equal(res.status, 200);
    assert.equal((await json(res)).status, 'ready');
  });

  test('GET /status has version, uptime_s and active_streams', async () => {
    const body = await json(await fetch(`${t.httpUrl}/status`));
    assert.equal(typeof body.version, 'string');
    assert.equal(typeof body.uptime_s, 'number');
    assert.equal(body.active_streams, 0);
    assert.equal(body.providers.tts, 'espeak');
  });

  test('GET /metrics is Prometheus text that counts requests', async () => {
    await readStream(t.client.streamAudio({ prompt: 'hi', hardwareId: HARDWARE_ID, sessionId: 'metrics-1', phase: 2, chunkSeq: 0 }));
    const res = await fetch(`${t.httpUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /nexy_requests_total\{rpc="StreamAudio",status="OK"\} [1-9]/);
    assert.match(text, /nexy_first_audio_seconds_count [1-9]/);
    assert.match(text, /process_cpu_user_seconds_total/);
  });

  test('unknown paths are 404 JSON', async () => {
    const res = await fetch(`${t.httpUrl}/nope`);
    assert.equal(res.status, 404);
    assert.equal((await json(res)).error, 'not found');
  });
});

describe('readiness without a language model', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(testConfig({ text_processing: { provider: 'auto' } }));
  });
  after(() => t.close());

  test('/ready is 503 and names the missing model; turns still answer with the spoken notice', async () => {
    const res = await fetch(`${t.httpUrl}/ready`);
    assert.equal(res.status, 503);
    const body = await json(res);
    assert.equal(body.missing[0].check, 'llm');
    const result = await readStream(t.client.streamAudio({ prompt: 'hi', hardwareId: HARDWARE_ID, sessionId: 'degraded', phase: 2, chunkSeq: 0 }));
    const texts = result.messages.flatMap((m) => (m.content?.$case === 'textChunk' ? [m.content.textChunk] : []));
    assert.match(texts.join(' '), /No language model is configured/);
    assert.ok(result.messages.some((m) => m.content?.$case === 'audioChunk'));
  });
});
