import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ScriptedLlm } from '../../test/support/llm-stubs.js';
import { ActionGate } from '../text-processing/actions.js';
import type { LlmEvent, LlmProvider } from '../llm/provider.js';
import { turnLlm, type UsageEvent } from './turn-llm.js';

const COMMANDS = {
  open_app: {
    description: 'Open an app.',
    parameters: { type: 'object', properties: { app_name: { type: 'string' } }, required: ['app_name'], additionalProperties: false },
  },
};

function gate(enabled = true): ActionGate {
  const result = ActionGate.fromConfig({ enabled, commands: COMMANDS });
  assert.ok(result.ok);
  return result.gate;
}

const scripted = (events: readonly LlmEvent[]): LlmProvider => new ScriptedLlm('scripted-events', events);

/** A logger that keeps what was logged at warn, to prove drops are reported. */
function recordingLogger(): { log: pino.Logger; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, warnings };
}

async function run(llm: LlmProvider, enabled = true): Promise<{ events: LlmEvent[]; usage: UsageEvent[]; warnings: Array<Record<string, unknown>> }> {
  const { log, warnings } = recordingLogger();
  const usage: UsageEvent[] = [];
  const wrapped = turnLlm(llm, { gate: gate(enabled), sessionId: 's-1', log, onUsage: (u) => usage.push(u) });
  const events: LlmEvent[] = [];
  for await (const e of wrapped.stream({ system: '', history: [], prompt: 'x', maxOutputTokens: 1, temperature: 0 }, new AbortController().signal)) events.push(e);
  return { events, usage, warnings };
}

describe('turnLlm', () => {
  it('passes text, accepted tool calls and usage through in stream order', async () => {
    const script: LlmEvent[] = [
      { type: 'text', text: 'Opening Safari.' },
      { type: 'tool_call', name: 'open_app', args: { app_name: 'Safari' } },
      { type: 'text', text: ' Done.' },
      { type: 'usage', inputTokens: 10, outputTokens: 4, model: 'm-1' },
    ];
    const { events, usage, warnings } = await run(scripted(script));
    assert.deepEqual(events, script);
    assert.deepEqual(usage, [script[3]]);
    assert.deepEqual(warnings, []);
  });

  const dropped: ReadonlyArray<{ name: string; call: LlmEvent; enabled?: boolean; reason: RegExp }> = [
    { name: 'an unknown command', call: { type: 'tool_call', name: 'format_disk', args: {} }, reason: /unknown command/ },
    { name: 'arguments that fail the schema', call: { type: 'tool_call', name: 'open_app', args: { app: 'Safari' } }, reason: /schema/ },
    { name: 'any call while actions are disabled', call: { type: 'tool_call', name: 'open_app', args: { app_name: 'Safari' } }, enabled: false, reason: /disabled/ },
  ];
  for (const c of dropped) {
    it(`drops and logs ${c.name}; the text around it still streams`, async () => {
      const { events, warnings } = await run(scripted([{ type: 'text', text: 'A.' }, c.call, { type: 'text', text: ' B.' }]), c.enabled);
      assert.deepEqual(events, [
        { type: 'text', text: 'A.' },
        { type: 'text', text: ' B.' },
      ]);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].msg, 'tool call dropped');
      assert.match(String(warnings[0].reason), c.reason);
    });
  }

  it('keeps the provider name (logs and the turn record)', () => {
    assert.equal(turnLlm(scripted([]), { gate: gate(), sessionId: 's', log: pino({ enabled: false }), onUsage: () => undefined }).name, 'scripted-events');
  });
});
