import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { ActionGate, encodeAction, type ActionsSection } from './actions.js';

const APP = {
  description: 'Open an app.',
  parameters: {
    type: 'object',
    properties: { app_name: { type: 'string', minLength: 1 } },
    required: ['app_name'],
    additionalProperties: false,
  },
};
const VOLUME = {
  description: 'Set the volume.',
  parameters: {
    type: 'object',
    properties: { level: { type: 'integer', minimum: 0, maximum: 100 } },
    required: ['level'],
    additionalProperties: false,
  },
};

function gate(section: Partial<ActionsSection> = {}): ActionGate {
  const result = ActionGate.fromConfig({ enabled: true, commands: { open_app: APP, set_volume: VOLUME }, ...section });
  assert.ok(result.ok, result.ok ? '' : result.problems.join('; '));
  return result.gate;
}

describe('ActionGate.check', () => {
  const cases: ReadonlyArray<{ name: string; call: { name: string; args: Record<string, unknown> }; want: { ok: true } | { reason: RegExp } }> = [
    { name: 'an allowed command with fitting arguments', call: { name: 'open_app', args: { app_name: 'Safari' } }, want: { ok: true } },
    { name: 'integer arguments at the bounds', call: { name: 'set_volume', args: { level: 100 } }, want: { ok: true } },
    { name: 'a command not on the allowlist', call: { name: 'rm_rf', args: {} }, want: { reason: /unknown command "rm_rf"/ } },
    { name: 'a missing required argument', call: { name: 'open_app', args: {} }, want: { reason: /must have required property 'app_name'/ } },
    { name: 'an argument of the wrong type', call: { name: 'set_volume', args: { level: 'loud' } }, want: { reason: /args\/level must be integer/ } },
    { name: 'an argument out of range', call: { name: 'set_volume', args: { level: 150 } }, want: { reason: /args\/level must be <= 100/ } },
    { name: 'an extra argument', call: { name: 'open_app', args: { app_name: 'Mail', sudo: true } }, want: { reason: /must NOT have additional properties/ } },
    { name: 'an empty string where minLength is 1', call: { name: 'open_app', args: { app_name: '' } }, want: { reason: /must NOT have fewer than 1 characters/ } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const verdict = gate().check(c.call, 'sess-1');
      if ('ok' in c.want) {
        assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
        assert.equal(verdict.command, c.call.name);
        assert.deepEqual(JSON.parse(verdict.actionJson), { command: c.call.name, args: c.call.args, session_id: 'sess-1' });
      } else {
        assert.equal(verdict.ok, false);
        if (!verdict.ok) assert.match(verdict.reason, c.want.reason);
      }
    });
  }

  it('disabled: nothing is offered and every call is refused', () => {
    const off = gate({ enabled: false });
    assert.deepEqual(off.tools, []);
    const verdict = off.check({ name: 'open_app', args: { app_name: 'Safari' } }, 's');
    assert.deepEqual(verdict, { ok: false, reason: 'actions are disabled' });
  });

  it('enabled: every command is offered as a tool with its description and schema', () => {
    assert.deepEqual(
      gate().tools.map((t) => [t.name, t.description, t.parameters]),
      [
        ['open_app', APP.description, APP.parameters],
        ['set_volume', VOLUME.description, VOLUME.parameters],
      ],
    );
  });

  it('a command set to null is removed from the allowlist', () => {
    const g = gate({ commands: { open_app: APP, set_volume: null } });
    assert.deepEqual(g.tools.map((t) => t.name), ['open_app']);
    assert.equal(g.check({ name: 'set_volume', args: { level: 1 } }, 's').ok, false);
  });

  it('action_json is exactly {command, args, session_id}', () => {
    assert.equal(encodeAction('open_app', { app_name: 'Notes' }, 'abc'), '{"command":"open_app","args":{"app_name":"Notes"},"session_id":"abc"}');
  });
});

describe('ActionGate.fromConfig', () => {
  const failures: ReadonlyArray<{ name: string; commands: ActionsSection['commands']; want: RegExp }> = [
    { name: 'an invalid JSON Schema', commands: { x: { description: 'd', parameters: { type: 'object', properties: { a: { type: 'strin' } } } } }, want: /commands\.x\.parameters: schema is invalid/ },
    { name: 'an unknown keyword (strict)', commands: { x: { description: 'd', parameters: { type: 'object', requird: ['a'] } } }, want: /commands\.x\.parameters: strict mode: unknown keyword: "requird"/ },
    { name: 'an unknown format (strict)', commands: { x: { description: 'd', parameters: { type: 'object', properties: { u: { type: 'string', format: 'uri' } } } } }, want: /unknown format "uri"/ },
    { name: 'a schema that is not an object schema', commands: { x: { description: 'd', parameters: { type: 'string' } } }, want: /commands\.x\.parameters: must be a JSON Schema with type "object"/ },
    { name: 'a name providers refuse', commands: { 'open app': APP }, want: /commands\.open app: a command name is 1-64 letters/ },
  ];
  for (const c of failures) {
    it(`reports ${c.name}`, () => {
      const result = ActionGate.fromConfig({ enabled: false, commands: c.commands });
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.problems.length, 1, result.problems.join('; '));
        assert.match(result.problems[0], c.want);
      }
    });
  }

  it('reports every bad command at once', () => {
    const result = ActionGate.fromConfig({ enabled: true, commands: { a: { description: 'd', parameters: {} }, b: { description: 'd', parameters: { type: 'nope' } } } });
    assert.equal(result.ok ? 0 : result.problems.length, 2);
  });

  it('the shipped allowlist compiles and its schemas accept and refuse what they should', () => {
    const section = loadConfig({ env: {} }).text_processing.actions;
    assert.equal(section.enabled, false, 'actions are off by default');
    const result = ActionGate.fromConfig({ ...section, enabled: true });
    assert.ok(result.ok, result.ok ? '' : result.problems.join('; '));
    const g = result.gate;
    assert.deepEqual(g.tools.map((t) => t.name).sort(), ['close_app', 'open_app', 'open_url', 'set_volume']);
    const ok = (name: string, args: Record<string, unknown>) => g.check({ name, args }, 's').ok;
    assert.equal(ok('open_app', { app_name: 'Safari' }), true);
    assert.equal(ok('close_app', { app_name: 'Music' }), true);
    assert.equal(ok('open_url', { url: 'https://example.com/a?b=c' }), true);
    assert.equal(ok('open_url', { url: 'file:///etc/passwd' }), false);
    assert.equal(ok('open_url', { url: 'javascript:alert(1)' }), false);
    assert.equal(ok('set_volume', { level: 30 }), true);
    assert.equal(ok('set_volume', { level: 30.5 }), false);
  });
});
