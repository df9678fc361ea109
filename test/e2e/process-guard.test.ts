import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';

const FIXTURE = join(import.meta.dirname, '../support/fixtures/leaks-rejection.ts');

test('a test file that leaves an unhandled rejection fails, naming it, even though its test passed', async () => {
  // A test process of its own, not a subtest of this one.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.notEqual(code, 0, output);
  assert.match(output, /unhandledRejection/);
  assert.match(output, /leaked on purpose/);
});
