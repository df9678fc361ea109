import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { AppError, type ErrorKind } from '../../src/errors.js';
import { RequestPhase, type StreamRequest } from '../../src/gen/streaming.js';
import { fail, hang, ScriptedLlm, text } from '../support/llm-stubs.js';
import { HARDWARE_ID, kinds, readStream, startTestServer, testConfig, type TestServer } from '../support/harness.js';

function commit(sessionId: string): StreamRequest {
  return { prompt: 'hello', hardwareId: HARDWARE_ID, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 };
}

/** How the model fails, as each test sets it: `error` (if any) after `textBefore` (if any). */
const failing: { error: unknown; textBefore: string } = { error: new AppError('unavailable', 'the language model is unavailable'), textBefore: '' };

describe('how a turn ends', () => {
  let t: TestServer;
  const llm = new ScriptedLlm('failing', () => [...(failing.textBefore ? [text(failing.textBefore)] : []), ...(failing.error === undefined ? [] : [fail(failing.error)])]);
  before(async () => {
    t = await startTestServer(testConfig(), { llm });
  });
  after(() => t.close());

  const mapped: Array<[ErrorKind, status]> = [
    ['unavailable', status.UNAVAILABLE],
    ['limit', status.RESOURCE_EXHAUSTED],
    ['timeout', status.DEADLINE_EXCEEDED],
    ['denied', status.PERMISSION_DENIED],
    ['unauthenticated', status.UNAUTHENTICATED],
  ];
  for (const [kind, code] of mapped) {
    test(`a ${kind} failure before any data: one error_message, then ${status[code]}`, async () => {
      failing.textBefore = '';
      failing.error = new AppError(kind, `readable ${kind} message`);
      const result = await readStream(t.client.streamAudio(commit(`end-${kind}`)));
      assert.equal(result.status.code, code);
      assert.deepEqual(kinds(result.messages), ['errorMessage']);
      assert.equal((result.messages[0].content as { errorMessage: string }).errorMessage, `readable ${kind} message`);
    });
  }

  test('an unexpected error is INTERNAL with "internal error" and nothing of its cause', async () => {
    failing.textBefore = '';
    failing.error = new TypeError('cannot read properties of undefined (reading secretThing) at /srv/app.ts:42');
    const result = await readStream(t.client.streamAudio(commit('end-internal')));
    assert.equal(result.status.code, status.INTERNAL);
    assert.deepEqual(kinds(result.messages), ['errorMessage']);
    assert.equal((result.messages[0].content as { errorMessage: string }).errorMessage, 'internal error');
    assert.doesNotMatch(result.status.details, /secretThing|app\.ts/);
  });

  test('a failure after data was sent: no error_message, no end_message, status OK (quiet stop)', async () => {
    failing.textBefore = 'The first sentence made it out. The second one';
    failing.error = new AppError('unavailable', 'the language model is unavailable');
    const unavailableErrors = async () =>
      (await t.server.metrics.errors.get()).values.find((v) => v.labels.kind === 'unavailable')?.value ?? 0;
    const errorsBefore = await unavailableErrors();
    const result = await readStream(t.client.streamAudio(commit('end-quiet')));
    assert.equal(result.status.code, status.OK);
    const order = kinds(result.messages);
    assert.equal(order[0], 'textChunk');
    assert.ok(order.includes('audioChunk'));
    assert.ok(!order.includes('errorMessage') && !order.includes('endMessage'), order.join());
    assert.equal(await unavailableErrors(), errorsBefore + 1, 'the quiet stop is counted');
  });

  test("the turn owns the total timeout: a model that never answers ends with one error_message, then DEADLINE_EXCEEDED", async () => {
    // The stub has no timer of its own (the real providers keep only the first-token one).
    const silent = new ScriptedLlm('silent', [hang()]);
    const server = await startTestServer(testConfig({ text_processing: { total_timeout_ms: 300 } }), { llm: silent });
    try {
      const result = await readStream(server.client.streamAudio(commit('end-total-timeout')));
      assert.equal(result.status.code, status.DEADLINE_EXCEEDED);
      assert.deepEqual(kinds(result.messages), ['errorMessage']);
      assert.equal((result.messages[0].content as { errorMessage: string }).errorMessage, 'the answer took too long');
      assert.equal((silent.aborted[0] as AppError).kind, 'timeout', "the model's call was aborted with the turn's reason");
    } finally {
      await server.close();
    }
  });

  test('a model that answers nothing is an error, not an empty "completed"', async () => {
    failing.textBefore = '';
    failing.error = undefined;
    const empty = new ScriptedLlm('empty');
    const server = await startTestServer(testConfig(), { llm: empty });
    try {
      const result = await readStream(server.client.streamAudio(commit('end-empty')));
      assert.equal(result.status.code, status.UNAVAILABLE);
      assert.deepEqual(kinds(result.messages), ['errorMessage']);
    } finally {
      await server.close();
    }
  });
});
