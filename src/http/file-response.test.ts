import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseRange } from './file-response.js';

test('parseRange: single byte ranges, suffixes, open ends; bad or multiple ranges are ignored', () => {
  const size = 100;
  const cases: Array<[string | undefined, ReturnType<typeof parseRange>]> = [
    [undefined, undefined],
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=90-', { start: 90, end: 99 }],
    ['bytes=90-500', { start: 90, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
    ['bytes=99-99', { start: 99, end: 99 }],
    ['bytes=100-', 'unsatisfiable'],
    ['bytes=100-200', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    ['bytes=9-0', undefined],
    ['bytes=-', undefined],
    ['bytes=0-1,5-6', undefined],
    ['items=0-9', undefined],
    ['bytes=a-b', undefined],
  ];
  for (const [header, expected] of cases) assert.deepEqual(parseRange(header, size), expected, String(header));
  assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable');
});
