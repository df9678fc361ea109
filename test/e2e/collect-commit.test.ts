import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { RequestPhase, type StreamRequest } from '../../src/gen/streaming.js';
import { makeWebp } from '../support/images.js';
import { HARDWARE_ID, kinds, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

const COLLECT = RequestPhase.REQUEST_PHASE_COLLECT;
const COMMIT = RequestPhase.REQUEST_PHASE_COMMIT;

describe('COLLECT / COMMIT', () => {
  let t: TestServer;
  const llm = new RecordingLlm('Sure.');
  before(async () => {
    t = await startTestServer(testConfig(), { llm });
  });
  after(() => t.close());

  function send(fields: Partial<StreamRequest>) {
    const request: StreamRequest = { prompt: '', hardwareId: HARDWARE_ID, sessionId: '', phase: COLLECT, chunkSeq: 0, ...fields };
    return readStream(t.client.streamAudio(request));
  }

  test('a COLLECT is answered with exactly one end_message "collect_ok" and starts no model work', async () => {
    const calls = llm.requests.length;
    const result = await send({ sessionId: 'c1', chunkSeq: 1, chunkText: 'what is' });
    assert.equal(result.status.code, status.OK);
    assert.deepEqual(kinds(result.messages), ['endMessage']);
    assert.equal((result.messages[0].content as { endMessage: string }).endMessage, 'collect_ok');
    assert.deepEqual(result.metadata?.get('x-session-id'), ['c1']);
    assert.equal(llm.requests.length, calls);
  });

  test('COMMIT merges the collected deltas with its prompt and runs the model exactly once', async () => {
    await send({ sessionId: 'c2', chunkSeq: 1, chunkText: 'what is' });
    await send({ sessionId: 'c2', chunkSeq: 2, chunkText: 'is the weather' });
    const calls = llm.requests.length;
    const result = await send({ sessionId: 'c2', phase: COMMIT, prompt: 'in Paris' });
    assert.equal(result.status.code, status.OK);
    assert.equal(llm.requests.length, calls + 1);
    assert.equal(llm.requests.at(-1)?.prompt, 'what is the weather in Paris');
  });

  test('growing snapshots are merged too', async () => {
    await send({ sessionId: 'c3', chunkSeq: 1, chunkText: 'open' });
    await send({ sessionId: 'c3', chunkSeq: 2, chunkText: 'open the' });
    await send({ sessionId: 'c3', chunkSeq: 3, chunkText: 'open the settings' });
    await send({ sessionId: 'c3', phase: COMMIT, prompt: 'open the settings please' });
    assert.equal(llm.requests.at(-1)?.prompt, 'open the settings please');
  });

  test('a chunk_seq not greater than the last one is dropped but acknowledged', async () => {
    await send({ sessionId: 'c4', chunkSeq: 5, chunkText: 'turn on' });
    const stale = await send({ sessionId: 'c4', chunkSeq: 3, chunkText: 'something old' });
    assert.deepEqual(kinds(stale.messages), ['endMessage']);
    assert.equal((stale.messages[0].content as { endMessage: string }).endMessage, 'collect_ok');
    await send({ sessionId: 'c4', chunkSeq: 5, chunkText: 'a repeat' });
    await send({ sessionId: 'c4', phase: COMMIT, prompt: 'the lights' });
    assert.equal(llm.requests.at(-1)?.prompt, 'turn on the lights');
  });

  test('chunk_text empty: the COLLECT prompt is the piece', async () => {
    await send({ sessionId: 'c5', chunkSeq: 1, prompt: 'good' });
    await send({ sessionId: 'c5', phase: COMMIT, prompt: 'morning' });
    assert.equal(llm.requests.at(-1)?.prompt, 'good morning');
  });

  test('the screenshot of an early COLLECT reaches the model at COMMIT, with its dimensions', async () => {
    const webp = await makeWebp(300, 200);
    await send({ sessionId: 'c6', chunkSeq: 1, screenshot: webp.toString('base64'), screenWidth: 1440, screenHeight: 900 });
    await send({ sessionId: 'c6', chunkSeq: 2, chunkText: 'what is this' });
    await send({ sessionId: 'c6', phase: COMMIT, prompt: '' , chunkText: '' });
    const sent = llm.requests.at(-1);
    assert.equal(sent?.prompt, 'what is this');
    assert.equal(sent?.image?.base64, webp.toString('base64'));
    assert.equal(sent?.image?.width, 1440);
    assert.equal(sent?.image?.height, 900);
  });

  test('a screenshot in the COMMIT wins over the collected one', async () => {
    const early = await makeWebp(30, 20);
    const late = await makeWebp(60, 40);
    await send({ sessionId: 'c7', chunkSeq: 1, screenshot: early.toString('base64') });
    await send({ sessionId: 'c7', phase: COMMIT, prompt: 'describe it', screenshot: late.toString('base64') });
    assert.equal(llm.requests.at(-1)?.image?.base64, late.toString('base64'));
    assert.equal(llm.requests.at(-1)?.image?.width, 60, 'dimensions from the image when the request gives none');
  });

  test('the buffer is taken by the COMMIT: a second COMMIT does not see it again', async () => {
    await send({ sessionId: 'c8', chunkSeq: 1, chunkText: 'remember this' });
    await send({ sessionId: 'c8', phase: COMMIT, prompt: 'please' });
    assert.equal(llm.requests.at(-1)?.prompt, 'remember this please');
    await send({ sessionId: 'c8', phase: COMMIT, prompt: 'again' });
    assert.equal(llm.requests.at(-1)?.prompt, 'again');
  });

  test('buffers are per hardware id: another device with the same session id does not get them', async () => {
    await send({ sessionId: 'shared', chunkSeq: 1, chunkText: 'secret words' });
    await send({ sessionId: 'shared', hardwareId: 'OTHER-DEVICE', phase: COMMIT, prompt: 'hello' });
    assert.equal(llm.requests.at(-1)?.prompt, 'hello');
  });

  test('a COMMIT whose merged prompt is blank is INVALID_ARGUMENT', async () => {
    const result = await send({ sessionId: 'c9', phase: COMMIT, prompt: '  ' });
    assert.equal(result.status.code, status.INVALID_ARGUMENT);
    assert.deepEqual(kinds(result.messages), ['errorMessage']);
    assert.match((result.messages[0].content as { errorMessage: string }).errorMessage, /prompt/);
  });

  test('a COMMIT with only collected text and an empty prompt is answered', async () => {
    await send({ sessionId: 'c10', chunkSeq: 1, chunkText: 'hello there' });
    const result = await send({ sessionId: 'c10', phase: COMMIT, prompt: '' });
    assert.equal(result.status.code, status.OK);
    assert.equal(llm.requests.at(-1)?.prompt, 'hello there');
  });
});

describe('COLLECT buffer expiry', () => {
  let t: TestServer;
  const llm = new RecordingLlm('Sure.');
  before(async () => {
    t = await startTestServer(testConfig({ session_management: { collect_ttl_ms: 5, collect_sweep_interval_ms: 1000 } }), { llm });
  });
  after(() => t.close());

  test('an abandoned buffer is gone after collect_ttl_ms', async () => {
    const request = { prompt: '', hardwareId: HARDWARE_ID, sessionId: 'ttl', phase: COLLECT, chunkSeq: 1, chunkText: 'old words' };
    await readStream(t.client.streamAudio(request));
    // The behaviour under test is the passing of time itself (the store's unit test covers the
    // same rule with a fake clock): wait past the 5 ms TTL.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const result = await readStream(t.client.streamAudio({ ...request, phase: COMMIT, chunkSeq: 0, chunkText: undefined, prompt: 'new' }));
    assert.equal(result.status.code, status.OK);
    assert.equal(llm.requests.at(-1)?.prompt, 'new');
  });
});
