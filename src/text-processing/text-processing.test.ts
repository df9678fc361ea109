import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testConfig } from '../../test/support/harness.js';
import { ConfigError } from '../config/load.js';
import { startServer } from '../server.js';
import { createTextProcessing } from './text-processing.js';

const ROOT = join(import.meta.dirname, '../..');
const now = () => new Date('2025-03-14T13:05:00Z');

describe('createTextProcessing', () => {
  it('builds prompt, gate and filter from the shipped config', () => {
    const tp = createTextProcessing(testConfig().text_processing, { baseDir: ROOT, now });
    assert.deepEqual(tp.actions.tools, [], 'actions are off by default');
    assert.equal(tp.filter.check('hello').blocked, false);
    assert.match(tp.systemPrompt.render({ prompt: 'hi', memory: { facts: [], summary: '' }, actionsOffered: false }), /^You are Nexy/);
  });

  it('one ConfigError lists the problems of the template, the action schemas and the patterns together', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexy-tp-'));
    writeFileSync(join(dir, 'system.md'), 'Hello {{user_name}}.');
    const config = testConfig({
      text_processing: {
        prompts: { system: join(dir, 'system.md') },
        actions: { commands: { open_app: { description: 'x', parameters: { type: 'object', properties: { a: { type: 'text' } } } } } },
        filters: { blocked_patterns: ['(oops'] },
      },
    });
    assert.throws(
      () => createTextProcessing(config.text_processing, { baseDir: ROOT, now }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 3, error.problems.join('\n'));
        assert.match(error.problems[0], /unknown variable \{\{user_name\}\}/);
        assert.match(error.problems[1], /actions\.commands\.open_app\.parameters/);
        assert.match(error.problems[2], /blocked_patterns\[0\]/);
        return true;
      },
    );
  });

  it('startServer refuses to start with such a config (the CLI exits 2 on a ConfigError)', async () => {
    const config = testConfig({ text_processing: { prompts: { system: 'config/prompts/does-not-exist.md' } } });
    await assert.rejects(startServer(config), (error: unknown) => error instanceof ConfigError && /does-not-exist\.md/.test(error.message));
  });
});
