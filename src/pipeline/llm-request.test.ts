import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PromptTemplate, SystemPrompt } from '../text-processing/prompts.js';
import { buildLlmRequest, type LlmRequestInput } from './llm-request.js';

const TEMPLATE = PromptTemplate.parse('{{assistant_name}} {{date}} {{user_language}}\n\n{{screen}}\n\n{{actions}}\n\n{{memory}}').template;
const systemPrompt = new SystemPrompt(TEMPLATE, {
  assistantName: 'Nexy',
  timeZone: 'UTC',
  defaultLanguage: 'en',
  now: () => new Date('2025-01-02T03:04:05Z'),
});
const TOOL = { name: 'open_app', description: 'Open an app.', parameters: { type: 'object' } };

function input(overrides: Partial<LlmRequestInput> = {}): LlmRequestInput {
  return {
    systemPrompt,
    context: { messages: [{ role: 'user', content: 'earlier' }, { role: 'assistant', content: 'reply' }], summary: 'old talk', facts: ['likes tea'] },
    prompt: 'what time is it',
    screenshot: undefined,
    tools: [],
    maxOutputTokens: 100,
    temperature: 0.5,
    ...overrides,
  };
}

describe('buildLlmRequest', () => {
  it('the prompt is exactly the user text; memory goes to the system prompt and history only', () => {
    const request = buildLlmRequest(input());
    assert.equal(request.prompt, 'what time is it');
    assert.deepEqual(request.history, input().context.messages);
    assert.match(request.system, /^Nexy Thursday, 2 January 2025 English/);
    assert.match(request.system, /- likes tea/);
    assert.match(request.system, /old talk/);
    assert.doesNotMatch(request.prompt, /likes tea|old talk/);
  });

  it('a screenshot is an image part of the prompt and the system prompt gives its size', () => {
    const request = buildLlmRequest(input({ screenshot: { base64: 'AAAA', width: 1920, height: 1080 } }));
    assert.deepEqual(request.image, { mimeType: 'image/webp', base64: 'AAAA', width: 1920, height: 1080 });
    assert.match(request.system, /1920×1080 pixels/);
    assert.equal(request.prompt, 'what time is it');
  });

  it('tools only when there are any, and the prompt says so', () => {
    const without = buildLlmRequest(input());
    assert.equal(without.tools, undefined);
    assert.doesNotMatch(without.system, /commands offered as tools/);
    const withTools = buildLlmRequest(input({ tools: [TOOL] }));
    assert.deepEqual(withTools.tools, [TOOL]);
    assert.match(withTools.system, /commands offered as tools/);
  });

  it("the user's language follows the prompt", () => {
    assert.match(buildLlmRequest(input({ prompt: 'который час' })).system, /Russian/);
  });
});
