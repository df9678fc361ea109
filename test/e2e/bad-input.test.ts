import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { RequestPhase, type StreamRequest } from '../../src/gen/streaming.js';
import { makePng, makeWebp } from '../support/images.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

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
