import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { runEvery } from './run-every.js';

test('every step runs in order even when some throw or reject; each failure is reported by name', async () => {
  const ran: string[] = [];
  const failed: string[] = [];
  await runEvery(
    [
      ['a', () => void ran.push('a')],
      ['b', () => { ran.push('b'); throw new Error('sync'); }],
      ['c', async () => { ran.push('c'); throw new Error('async'); }],
      ['d', async () => void ran.push('d')],
    ],
    (step) => {
      failed.push(step);
      throw new Error('the reporter fails too');
    },
  );
  assert.deepEqual(ran, ['a', 'b', 'c', 'd']);
  assert.deepEqual(failed, ['b', 'c']);
});
