import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { RequestPhase, type StreamRequest } from '../../src/gen/streaming.js';
import { makePng, makeWebp } from '../support/images.js';
import { captureLog } from '../support/log-capture.js';
import {
  HARDWARE_ID,
  kinds,
  readStream,
  RecordingLlm,
  startTestServer,
  testConfig,
  type StreamResult,
  type TestServer,
} from '../support/harness.js';

function request(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: 'hello', hardwareId: HARDWARE_ID, sessionId: 'bad-input', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

describe('bad input over the wire', () => {
  let t: TestServer;
  const llm = new RecordingLlm();
  before(async () => {
    t = await startTestServer(
      testConfig({ text_processing: { max_prompt_chars: 200, screenshot_max_bytes: 50_000 }, grpc: { max_receive_message_bytes: 300_000 } }),
      { llm },
    );
  });
  after(() => t.close());

  const cases: Array<[string, Partial<StreamRequest>, RegExp]> = [
    ['missing hardware_id', { hardwareId: '' }, /hardware_id/],
    ['blank hardware_id', { hardwareId: '   ' }, /hardware_id/],
    ['hardware_id "unknown"', { hardwareId: 'Unknown' }, /hardware_id/],
    ['hardware_id too long', { hardwareId: 'A'.repeat(129) }, /hardware_id/],
    ['hardware_id with bad characters', { hardwareId: 'mac book' }, /hardware_id/],
    ['session_id too long', { sessionId: 's'.repeat(129) }, /session_id/],
    ['session_id with bad characters', { sessionId: 'a/b' }, /session_id/],
    ['screenshot not base64', { screenshot: '%%%not-base64%%%' }, /screenshot/],
    ['screenshot not WebP', { screenshot: Buffer.from('GIF89a-and-then-some-bytes').toString('base64') }, /screenshot/],
    ['screen_width 0', { screenWidth: 0 }, /screen_width/],
    ['screen_height too big', { screenHeight: 16385 }, /screen_height/],
    ['prompt too long', { prompt: 'x'.repeat(201) }, /prompt/],
    ['blank COMMIT prompt', { prompt: '   ' }, /prompt/],
    ['unknown phase', { phase: 7 as RequestPhase }, /phase/],
    ['COLLECT without session_id', { phase: RequestPhase.REQUEST_PHASE_COLLECT, sessionId: '' }, /session_id/],
  ];

  for (const [name, fields, field] of cases) {
    test(`${name}: one error_message naming the field, INVALID_ARGUMENT, no model call`, async () => {
      const calls = llm.requests.length;
      const result = await readStream(t.client.streamAudio(request(fields)));
      assert.equal(result.status.code, status.INVALID_ARGUMENT, result.status.details);
      assert.deepEqual(kinds(result.messages), ['errorMessage']);
      const message = (result.messages[0].content as { errorMessage: string }).errorMessage;
      assert.match(message, field);
      assert.doesNotMatch(message, /at .*\.ts:\d+|Error:/, 'no stack trace');
      assert.equal(llm.requests.length, calls);
    });
  }

  test('a PNG screenshot is refused as not WebP', async () => {
    const png = await makePng(20, 20);
    const result = await readStream(t.client.streamAudio(request({ screenshot: png.toString('base64') })));
    assert.equal(result.status.code, status.INVALID_ARGUMENT);
    assert.match((result.messages[0].content as { errorMessage: string }).errorMessage, /screenshot.*WebP/);
  });

  test('a screenshot over screenshot_max_bytes is refused', async () => {
    const big = Buffer.concat([await makeWebp(16, 16), Buffer.alloc(60_000, 1)]);
    const result = await readStream(t.client.streamAudio(request({ screenshot: big.toString('base64') })));
    assert.equal(result.status.code, status.INVALID_ARGUMENT);
    assert.match((result.messages[0].content as { errorMessage: string }).errorMessage, /screenshot is larger than 50000 bytes/);
  });

  test('errors with a valid session id still carry x-session-id', async () => {
    const result = await readStream(t.client.streamAudio(request({ hardwareId: 'unknown', sessionId: 'keep-me' })));
    assert.equal(result.status.code, status.INVALID_ARGUMENT);
    assert.deepEqual(result.metadata?.get('x-session-id'), ['keep-me']);
  });

  test('a message over max_receive_message_bytes is refused by the transport', async () => {
    const result = await readStream(t.client.streamAudio(request({ prompt: 'x'.repeat(400_000) })));
    assert.equal(result.status.code, status.RESOURCE_EXHAUSTED);
  });

  test('after all that the server still serves a normal turn', async () => {
    const result = await readStream(t.client.streamAudio(request({ sessionId: 'after-bad-input' })));
    assert.equal(result.status.code, status.OK);
    assert.equal(kinds(result.messages).at(-1), 'endMessage');
  });
});

/** Raw bytes as a request: a client whose serializer sends the buffer as it is. */
function rawCall(address: string, method: string, bytes: Buffer, stream: boolean): Promise<StreamResult<Buffer>> {
  const client = new Client(address, credentials.createInsecure());
  const path = `/streaming.StreamingService/${method}`;
  const identity = (b: Buffer) => b;
  const done = (result: StreamResult<Buffer>) => {
    client.close();
    return result;
  };
  if (stream) return readStream(client.makeServerStreamRequest(path, identity, identity, bytes)).then(done);
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, bytes, (error: ServiceError | null, reply?: Buffer) => {
      const status = error ? { code: error.code, details: error.details, metadata: error.metadata } : { code: 0, details: 'OK', metadata: new Metadata() };
      resolve(done({ messages: reply ? [reply] : [], status, metadata: undefined }));
    });
  });
}

describe('undecodable request bytes and the bad-input log', () => {
  let t: TestServer;
  const { logger, lines } = captureLog();
  before(async () => {
    t = await startTestServer(testConfig({ logging: { bad_input_max_per_interval: 12, bad_input_interval_ms: 3_600_000 } }), {
      llm: new RecordingLlm(),
      logger,
    });
  });
  after(() => t.close());

  // 0xff: a field tag cut short; 0x0f: wire type 7, which protobuf does not have.
  const garbage = [Buffer.from([0xff]), Buffer.from([0x0f, 0x01])];
  const rpcs: Array<[string, boolean]> = [
    ['StreamAudio', true],
    ['GenerateWelcomeAudio', true],
    ['InterruptSession', false],
    ['ReportUsage', false],
  ];

  const badLines = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'bad request');

  test('regression: bytes that do not parse are INVALID_ARGUMENT (not INTERNAL) on all four RPCs, streams with one error_message', async () => {
    for (const [rpc, stream] of rpcs) {
      for (const bytes of garbage) {
        const result = await rawCall(t.address, rpc, bytes, stream);
        assert.equal(result.status.code, status.INVALID_ARGUMENT, `${rpc}: ${result.status.details}`);
        assert.match(result.status.details, /do not parse/);
        if (stream) {
          assert.equal(result.messages.length, 1, rpc);
          // Field 4 (error_message) of StreamResponse and WelcomeResponse, length-delimited.
          assert.equal(result.messages[0][0], (4 << 3) | 2, rpc);
        }
      }
    }
    const bad = badLines();
    assert.equal(bad.length, rpcs.length * garbage.length, 'one line each');
    assert.deepEqual(new Set(bad.map((l) => l.rpc)), new Set(rpcs.map(([rpc]) => rpc)));
    assert.ok(bad.every((l) => l.field === 'request'));
  });

  test('bad input is logged as one short line without a stack, and repeated ones are rate-limited', async () => {
    const before = badLines().length;
    for (let i = 0; i < 10; i++) await readStream(t.client.streamAudio(request({ hardwareId: `bad id ${'x'.repeat(10_000)}` })));
    const bad = badLines().slice(before);
    assert.equal(before + bad.length, 12, 'twelve per interval, as configured');
    for (const line of lines) assert.ok(Buffer.byteLength(line) <= 300, `${Buffer.byteLength(line)} bytes: ${line.slice(0, 400)}`);
    assert.ok(lines.every((l) => !/stack|\.ts:\d+/.test(l)), 'no stack');
    assert.equal(bad[0].rpc, 'StreamAudio');
    assert.equal(bad[0].field, 'hardware_id');
    assert.equal(typeof bad[0].rid, 'string');
    assert.match(String(bad[0].reason), /hardware_id/);
  });
});
