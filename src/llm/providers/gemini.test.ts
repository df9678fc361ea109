import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '@google/genai';
import { startFakeGemini, type FakeGemini } from '../../../test/fakes/gemini-server.js';
import { collectStream, CONTRACT_REQUEST as request, llmProviderContract } from '../../../test/support/llm-provider-contract.js';
import { useFake } from '../../../test/support/use-fake.js';
import type { LlmRequest } from '../provider.js';
import { GeminiProvider, type GeminiProviderOptions } from './gemini.js';

const TEST_TIMEOUT = { timeout: 10_000 };
const REFUSAL = 'Sorry, I cannot help with that.';

const gemini = (fake: FakeGemini, overrides: Partial<GeminiProviderOptions> = {}): GeminiProvider =>
  new GeminiProvider({ apiKey: 'test-key', baseUrl: fake.url, model: 'test-model', safetyRefusal: REFUSAL, firstTokenTimeoutMs: 5_000, ...overrides });

const openApp = {
  name: 'open_app',
  description: 'Open an application by name.',
  parameters: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false },
};

/** Every event of one stream and the error that ended it. */
const run = (provider: GeminiProvider, req: LlmRequest = request) => collectStream(provider, req);

describe('GeminiProvider', () => {
  const fake = useFake(startFakeGemini);
  const provider = (overrides: Partial<GeminiProviderOptions> = {}): GeminiProvider => gemini(fake(), overrides);

  describe('a healthy stream', () => {
    it('yields every text part in order, then one usage event with the last totals', TEST_TIMEOUT, async () => {
      fake().script({ chunks: ['Hello', ' there', '.'], usage: { promptTokens: 11, candidatesTokens: 7, thoughtsTokens: 2 } });
      const out = await run(provider());
      assert.equal(out.error, undefined);
      assert.deepEqual(out.events, [
        { type: 'text', text: 'Hello' },
        { type: 'text', text: ' there' },
        { type: 'text', text: '.' },
        { type: 'usage', inputTokens: 11, outputTokens: 9, model: 'test-model' },
      ]);
      assert.equal(fake().requests[0].outcome, 'completed');
    });

    it('sends the system instruction and the limits (endpoint and key: the contract)', TEST_TIMEOUT, async () => {
      await run(provider());
      const sent = fake().requests[0];
      assert.deepEqual(sent.body?.systemInstruction, { role: 'user', parts: [{ text: 'You are a test assistant.' }] });
      assert.deepEqual(sent.body?.generationConfig, { temperature: 0.3, maxOutputTokens: 64 });
      assert.equal(sent.body?.tools, undefined, 'no tools offered when the request has none');
    });

    it('sends the history with Gemini roles and the prompt as the last user content', TEST_TIMEOUT, async () => {
      const history = [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
      ] as const;
      await run(provider(), { ...request, system: '', history });
      const body = fake().requests[0].body;
      assert.equal(body?.systemInstruction, undefined, 'an empty system prompt is left out');
      assert.deepEqual(body?.contents, [
        { role: 'user', parts: [{ text: 'first question' }] },
        { role: 'model', parts: [{ text: 'first answer' }] },
        { role: 'user', parts: [{ text: 'what is on my screen' }] },
      ]);
    });

    it('sends the screenshot as inline data in the last user content, after the prompt text', TEST_TIMEOUT, async () => {
      const image = { mimeType: 'image/webp', base64: 'UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAwA0JaQAA3AA/vuUAAA=' };
      await run(provider(), { ...request, image });
      assert.deepEqual(fake().requests[0].body?.contents.at(-1), {
        role: 'user',
        parts: [{ text: 'what is on my screen' }, { inlineData: { mimeType: 'image/webp', data: image.base64 } }],
      });
    });

    it('reports the model version the server names, and no usage when it sends none', TEST_TIMEOUT, async () => {
      fake().script({ reply: 'Hi.', modelVersion: 'test-model-001' });
      const named = await run(provider());
      const usage = named.events.at(-1);
      assert.ok(usage?.type === 'usage', 'the last event is the usage');
      assert.equal(usage.model, 'test-model-001');
      assert.ok(usage.inputTokens > 0 && usage.outputTokens > 0);
      fake().script({ reply: 'Hi.', usage: false });
      const none = await run(provider());
      assert.equal(none.error, undefined);
      assert.deepEqual(none.events, [{ type: 'text', text: 'Hi.' }]);
    });
  });

  describe('function calls', () => {
    it('offers the tools as functionDeclarations with their JSON Schema', TEST_TIMEOUT, async () => {
      await run(provider(), { ...request, tools: [openApp] });
      assert.deepEqual(fake().requests[0].body?.tools, [
        { functionDeclarations: [{ name: 'open_app', description: openApp.description, parametersJsonSchema: openApp.parameters }] },
      ]);
    });

    it('yields each functionCall part as a tool_call, in stream order after the text', TEST_TIMEOUT, async () => {
      fake().script({
        chunks: ['Opening Safari.'],
        functionCalls: [
          { name: 'open_app', args: { name: 'Safari' } },
          { name: 'open_app', args: { name: 'Notes' } },
        ],
      });
      const out = await run(provider(), { ...request, tools: [openApp] });
      assert.equal(out.error, undefined);
      assert.deepEqual(
        out.events.filter((e) => e.type !== 'usage'),
        [
          { type: 'text', text: 'Opening Safari.' },
          { type: 'tool_call', name: 'open_app', args: { name: 'Safari' } },
          { type: 'tool_call', name: 'open_app', args: { name: 'Notes' } },
        ],
      );
    });
  });

  describe('safety blocks become the configured refusal, not an error', () => {
    it('a blocked prompt (promptFeedback.blockReason) → the refusal text', TEST_TIMEOUT, async () => {
      fake().script({ block: { where: 'prompt', reason: 'PROHIBITED_CONTENT' } });
      const out = await run(provider());
      assert.equal(out.error, undefined);
      assert.deepEqual(out.texts, [REFUSAL]);
    });

    it('an answer stopped with finishReason SAFETY → the text so far, then the refusal', TEST_TIMEOUT, async () => {
      fake().script({ chunks: ['Well,'], block: { where: 'answer' } });
      const out = await run(provider());
      assert.equal(out.error, undefined);
      assert.deepEqual(out.texts, ['Well,', REFUSAL]);
    });
  });
});

llmProviderContract({
  name: 'GeminiProvider',
  start: () => startFakeGemini(),
  provider: gemini,
  errorCases: [
    { status: 429, kind: 'limit', retryable: true },
    { status: 500, kind: 'unavailable', retryable: true },
    { status: 503, kind: 'unavailable', retryable: true },
    { status: 401, kind: 'unavailable', retryable: false },
    { status: 403, kind: 'unavailable', retryable: false },
    { status: 400, kind: 'internal', retryable: false },
    { status: 404, kind: 'internal', retryable: false },
  ],
  sdkError: ApiError,
  path: '/v1beta/models/test-model:streamGenerateContent?alt=sse',
  keyHeader: ['x-goog-api-key', 'test-key'],
});
