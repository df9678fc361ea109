import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { RequestPhase, type StreamRequest, type StreamResponse } from '../../src/gen/streaming.js';
import type { FakeOpenAi } from '../fakes/openai-server.js';
import { startOpenAiBackedServer } from '../support/openai-backed-server.js';
import { HARDWARE_ID, kinds, readStream, type TestServer } from '../support/harness.js';

function commit(fields: Partial<StreamRequest>): StreamRequest {
  return { prompt: 'open safari', hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0, ...fields };
}

/** The reply without audio: text chunks, actions and the end, in the order the client got them. */
function outline(messages: readonly StreamResponse[]): Array<string | { action: unknown; sessionId: string }> {
  return messages.flatMap((m): Array<string | { action: unknown; sessionId: string }> => {
    switch (m.content?.$case) {
      case 'textChunk':
        return [m.content.textChunk];
      case 'actionMessage':
        return [{ action: JSON.parse(m.content.actionMessage.actionJson), sessionId: m.content.actionMessage.sessionId }];
      case 'endMessage':
        return [`end:${m.content.endMessage}`];
      default:
        return [];
    }
  });
}

describe('assistant actions end to end (fake OpenAI streaming tool calls)', () => {
  let fake: FakeOpenAi;
  let t: TestServer;
  let close: () => Promise<void>;
  before(async () => {
    ({ fake, t, close } = await startOpenAiBackedServer({ actions: { enabled: true } }));
  });
  after(() => close());

  test('the allowlist is offered to the model as native tools, and the prompt says it may use them', async () => {
    fake.script({ reply: 'Sure.' });
    const before = fake.requests.length;
    const result = await readStream(t.client.streamAudio(commit({ sessionId: 'act-tools' })));
    assert.equal(result.status.code, status.OK);
    const body = fake.requests.slice(before).map((r) => r.body).find((b) => /^You are Nexy/.test(String(b?.messages[0]?.content))) as unknown as {
      tools: Array<{ type: string; function: { name: string; description: string; parameters: { type: string } } }>;
      messages: Array<{ content: unknown }>;
    };
    assert.deepEqual(body.tools.map((tool) => tool.function.name).sort(), ['close_app', 'open_app', 'open_url', 'set_volume']);
    for (const tool of body.tools) {
      assert.equal(tool.type, 'function');
      assert.ok(tool.function.description.length > 0);
      assert.equal(tool.function.parameters.type, 'object');
    }
    assert.match(String(body.messages[0].content), /commands offered as tools/);
  });

  test('text, a tool call, text: text_chunk, action_message {command,args,session_id}, text_chunk in stream order', async () => {
    fake.script({
      chunks: ['Opening Safari.', ' Done, it is open.'],
      toolCalls: [{ name: 'open_app', arguments: '{"app_name":"Safari"}', afterChunk: 1 }],
    });
    const result = await readStream(t.client.streamAudio(commit({ sessionId: 'act-1' })));
    assert.equal(result.status.code, status.OK);
    assert.deepEqual(outline(result.messages), [
      'Opening Safari.',
      { action: { command: 'open_app', args: { app_name: 'Safari' }, session_id: 'act-1' }, sessionId: 'act-1' },
      'Done, it is open.',
      'end:completed',
    ]);
    // Spoken text streams around the action: the first sentence's audio comes before it.
    const order = kinds(result.messages);
    const action = order.indexOf('actionMessage');
    assert.ok(order.slice(1, action).includes('audioChunk'), 'the first sentence is spoken before the action');
    assert.ok(order.slice(action).includes('audioChunk'), 'the second sentence is spoken after it');
  });

  test('a turn that only calls a command: the action is sent and the turn completes', async () => {
    fake.script({ chunks: [], toolCalls: [{ name: 'set_volume', arguments: '{"level":20}' }] });
    const result = await readStream(t.client.streamAudio(commit({ prompt: 'volume to twenty', sessionId: 'act-only' })));
    assert.equal(result.status.code, status.OK);
    assert.deepEqual(outline(result.messages), [
      { action: { command: 'set_volume', args: { level: 20 }, session_id: 'act-only' }, sessionId: 'act-only' },
      'end:completed',
    ]);
  });

  const invalid: ReadonlyArray<{ name: string; call: { name: string; arguments: string } }> = [
    { name: 'a command not on the allowlist', call: { name: 'delete_files', arguments: '{"path":"/"}' } },
    { name: 'arguments that fail the schema', call: { name: 'set_volume', arguments: '{"level":500}' } },
    { name: 'an open_url that is not http(s)', call: { name: 'open_url', arguments: '{"url":"file:///etc/passwd"}' } },
    { name: 'arguments that are not JSON', call: { name: 'open_app', arguments: '{"app_name": Safari' } },
  ];
  for (const c of invalid) {
    test(`${c.name}: the call is dropped and the stream completes with its text`, async () => {
      fake.script({ chunks: ['Let me see.', ' Here you go.'], toolCalls: [{ ...c.call, afterChunk: 1 }] });
      const result = await readStream(t.client.streamAudio(commit({ sessionId: `act-bad-${c.call.name}` })));
      assert.equal(result.status.code, status.OK);
      assert.deepEqual(outline(result.messages), ['Let me see.', 'Here you go.', 'end:completed']);
    });
  }
});
