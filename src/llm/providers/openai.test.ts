import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { APIError } from 'openai';
import { pino } from 'pino';
import { startFakeOpenAi, type FakeOpenAi } from '../../../test/fakes/openai-server.js';
import { assertAppError, collectStream, CONTRACT_REQUEST as request, llmProviderContract } from '../../../test/support/llm-provider-contract.js';
import { useFake } from '../../../test/support/use-fake.js';
import type { LlmEvent, LlmRequest } from '../provider.js';
import { OpenAiProvider, type OpenAiProviderOptions } from './openai.js';

const TEST_TIMEOUT = { timeout: 10_000 };

const openAi = (fake: FakeOpenAi, overrides: Partial<OpenAiProviderOptions> = {}): OpenAiProvider =>
  new OpenAiProvider({ baseUrl: fake.url, apiKey: 'test-key', model: 'test-model', placeholderApiKey: 'placeholder-key', firstTokenTimeoutMs: 5_000, ...overrides });

/** The texts, the usage events and the error of one stream. */
async function run(provider: OpenAiProvider, req: LlmRequest = request) {
  const { texts, events, error } = await collectStream(provider, req);
  return { texts, usage: events.filter((e): e is Extract<LlmEvent, { type: 'usage' }> => e.type === 'usage'), error };
}

describe('OpenAiProvider', () => {
  const fake = useFake(startFakeOpenAi);
  const provider = (overrides: Partial<OpenAiProviderOptions> = {}): OpenAiProvider => openAi(fake(), overrides);

  describe('a healthy stream', () => {
    it('yields every non-empty delta in order, then one usage event', TEST_TIMEOUT, async () => {
      fake().script({ chunks: ['Hello', '', ' there', '.'], usage: { promptTokens: 11, completionTokens: 7 } });
      const out = await run(provider());
      assert.equal(out.error, undefined);
      assert.deepEqual(out.texts, ['Hello', ' there', '.']);
      assert.deepEqual(out.usage, [{ type: 'usage', inputTokens: 11, outputTokens: 7, model: 'test-model' }]);
    });

    it('sends a streamed Chat Completions request with the configured model and limits (endpoint and key: the contract)', TEST_TIMEOUT, async () => {
      await run(provider());
      const sent = fake().requests[0];
      assert.equal(sent.body?.model, 'test-model');
      assert.equal(sent.body?.stream, true);
      assert.deepEqual(sent.body?.stream_options, { include_usage: true });
      assert.equal(sent.body?.max_tokens, 64);
      assert.equal(sent.body?.temperature, 0.3);
    });

    it('sends the placeholder key when no api key is configured', TEST_TIMEOUT, async () => {
      await run(provider({ apiKey: '' }));
      assert.equal(fake().requests[0].headers.authorization, 'Bearer placeholder-key');
    });

    it('puts the system prompt first, the history in order and the prompt last', TEST_TIMEOUT, async () => {
      const history = [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'second question' },
        { role: 'assistant', content: 'second answer' },
      ] as const;
      await run(provider(), { ...request, history });
      assert.deepEqual(fake().requests[0].body?.messages, [
        { role: 'system', content: 'You are a test assistant.' },
        ...history,
        { role: 'user', content: 'what is on my screen' },
      ]);
    });

    it('leaves out an empty system prompt', TEST_TIMEOUT, async () => {
      await run(provider(), { ...request, system: '' });
      assert.deepEqual(fake().requests[0].body?.messages, [{ role: 'user', content: 'what is on my screen' }]);
    });

    it('sends the screenshot as an image part of the last user message, after the prompt text', TEST_TIMEOUT, async () => {
      const image = { mimeType: 'image/webp', base64: 'UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAwA0JaQAA3AA/vuUAAA=' };
      await run(provider(), { ...request, history: [{ role: 'user', content: 'earlier' }], image });
      const messages = fake().requests[0].body?.messages ?? [];
      assert.equal(messages.length, 3);
      assert.deepEqual(messages[1], { role: 'user', content: 'earlier' });
      assert.deepEqual(messages[2], {
        role: 'user',
        content: [
          { type: 'text', text: 'what is on my screen' },
          { type: 'image_url', image_url: { url: `data:image/webp;base64,${image.base64}` } },
        ],
      });
    });

    it('uses the model name the server reports in the usage event', TEST_TIMEOUT, async () => {
      fake().script({ model: 'test-model-2024-01-01' });
      const out = await run(provider());
      assert.equal(out.usage.length, 1);
      assert.equal(out.usage[0].model, 'test-model-2024-01-01');
      assert.ok(out.usage[0].inputTokens > 0 && out.usage[0].outputTokens > 0);
    });

    it('yields no usage event when the server sends none', TEST_TIMEOUT, async () => {
      fake().script({ reply: 'Hi.', usage: false });
      const out = await run(provider());
      assert.equal(out.error, undefined);
      assert.deepEqual(out.texts, ['Hi.']);
      assert.deepEqual(out.usage, []);
    });
  });

  describe('upstream errors', () => {
    it('429 is retryable, 401 is not', TEST_TIMEOUT, async () => {
      fake().script({ error: { status: 429 } });
      const limited = await run(provider());
      assertAppError(limited.error, 'limit');
      assert.equal(limited.error.retryable, true);
      fake().script({ error: { status: 401 } });
      const refused = await run(provider());
      assertAppError(refused.error, 'unavailable');
      assert.match(refused.error.message, /credentials/);
      assert.equal(refused.error.retryable, false);
    });
  });

  describe('tool calls', () => {
    const tools = [
      { name: 'open_app', description: 'Open an app.', parameters: { type: 'object', properties: { app_name: { type: 'string' } }, required: ['app_name'] } },
    ];
    const withTools: LlmRequest = { ...request, tools };

    /** Every event in order, and what was logged at warn. */
    async function events(req: LlmRequest = withTools): Promise<{ events: LlmEvent[]; warnings: Array<Record<string, unknown>>; error: unknown }> {
      const warnings: Array<Record<string, unknown>> = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line) as Record<string, unknown>) });
      const { events: out, error } = await collectStream(provider({ logger }), req);
      return { events: out, warnings, error };
    }

    it('offers request.tools as functions', TEST_TIMEOUT, async () => {
      await events();
      assert.deepEqual(fake().requests[0].body?.tools, [{ type: 'function', function: tools[0] }]);
    });

    it('sends no tools field when there are none', TEST_TIMEOUT, async () => {
      await events({ ...request, tools: [] });
      assert.equal(fake().requests[0].body?.tools, undefined);
    });

    it('assembles streamed argument fragments into one call, in stream order with the text', TEST_TIMEOUT, async () => {
      fake().script({
        chunks: ['Opening Safari.', ' Done.'],
        toolCalls: [{ name: 'open_app', arguments: '{"app_name": "Safari"}', afterChunk: 1, argumentChunks: 4 }],
        usage: { promptTokens: 5, completionTokens: 3 },
      });
      const out = await events();
      assert.equal(out.error, undefined);
      assert.deepEqual(out.events, [
        { type: 'text', text: 'Opening Safari.' },
        { type: 'tool_call', name: 'open_app', args: { app_name: 'Safari' } },
        { type: 'text', text: ' Done.' },
        { type: 'usage', inputTokens: 5, outputTokens: 3, model: 'test-model' },
      ]);
    });

    it('several calls at the end of the answer come out in index order', TEST_TIMEOUT, async () => {
      fake().script({
        chunks: ['Sure.'],
        toolCalls: [
          { name: 'open_app', arguments: '{"app_name":"Mail"}' },
          { name: 'open_app', arguments: '{"app_name":"Notes"}', argumentChunks: 1 },
        ],
      });
      const out = await events();
      assert.deepEqual(
        out.events.filter((e) => e.type !== 'usage'),
        [
          { type: 'text', text: 'Sure.' },
          { type: 'tool_call', name: 'open_app', args: { app_name: 'Mail' } },
          { type: 'tool_call', name: 'open_app', args: { app_name: 'Notes' } },
        ],
      );
    });

    it('a call with no text at all, and empty arguments as {}', TEST_TIMEOUT, async () => {
      fake().script({ chunks: [], toolCalls: [{ name: 'open_app', arguments: '' }] });
      const out = await events();
      assert.equal(out.error, undefined);
      assert.deepEqual(out.events.filter((e) => e.type !== 'usage'), [{ type: 'tool_call', name: 'open_app', args: {} }]);
    });

    const malformed: ReadonlyArray<{ name: string; args: string }> = [
      { name: 'JSON cut short', args: '{"app_name": "Saf' },
      { name: 'not JSON', args: 'open Safari' },
      { name: 'JSON that is not an object', args: '["Safari"]' },
    ];
    for (const c of malformed) {
      it(`drops a call with ${c.name}, logs it at warn and streams on`, TEST_TIMEOUT, async () => {
        fake().script({ chunks: ['One.', ' Two.'], toolCalls: [{ name: 'open_app', arguments: c.args, afterChunk: 1 }] });
        const out = await events();
        assert.equal(out.error, undefined);
        assert.deepEqual(out.events.filter((e) => e.type !== 'usage'), [
          { type: 'text', text: 'One.' },
          { type: 'text', text: ' Two.' },
        ]);
        assert.equal(out.warnings.length, 1);
        assert.equal(out.warnings[0].msg, 'malformed tool call from the model dropped');
        assert.equal(out.warnings[0].tool, 'open_app');
      });
    }

    it('a tool call stops the first-token timeout like text does', TEST_TIMEOUT, async () => {
      // The call, an empty content chunk, then text only after the first-token timeout has passed.
      fake().script({ chunks: ['', 'Late text.'], chunkDelayMs: 400, toolCalls: [{ name: 'open_app', arguments: '{"app_name":"A"}', afterChunk: 0 }] });
      const warnings: unknown[] = [];
      const out: LlmEvent[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
      for await (const event of provider({ logger, firstTokenTimeoutMs: 200 }).stream(withTools, new AbortController().signal)) out.push(event);
      assert.deepEqual(out.filter((e) => e.type !== 'usage'), [
        { type: 'tool_call', name: 'open_app', args: { app_name: 'A' } },
        { type: 'text', text: 'Late text.' },
      ]);
    });
  });
});

llmProviderContract({
  name: 'OpenAiProvider',
  start: () => startFakeOpenAi(),
  provider: openAi,
  errorCases: [
    { status: 429, kind: 'limit' },
    { status: 500, kind: 'unavailable' },
    { status: 503, kind: 'unavailable' },
    { status: 401, kind: 'unavailable' },
    { status: 403, kind: 'unavailable' },
    { status: 400, kind: 'internal' },
    { status: 404, kind: 'internal' },
    { status: 422, kind: 'internal' },
  ],
  sdkError: APIError,
  path: '/v1/chat/completions',
  keyHeader: ['authorization', 'Bearer test-key'],
});
