import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { clauseParts } from './clause-marks.js';

type Row = readonly [text: string, minChars: number, parts: readonly string[]];

describe('clauseParts: a segment cut at its clause boundaries for synthesis', () => {
  const rows: readonly Row[] = [
    ['It sits on the river Seine, and about twelve million people live in and around it.', 20, ['It sits on the river Seine,', 'and about twelve million people live in and around it.']],
    [
      'If you would like to hear more, I can tell you about its history, its food or its parks.',
      20,
      ['If you would like to hear more,', 'I can tell you about its history,', 'its food or its parks.'],
    ],
    // A clause shorter than the minimum goes with the next one; a short last clause with the one before.
    ['Sure, here is what I found about your question today.', 20, ['Sure, here is what I found about your question today.']],
    ['First of all we need flour, eggs, milk and a pinch of salt.', 20, ['First of all we need flour,', 'eggs, milk and a pinch of salt.']],
    ['The city is known for its museums, its cafes and parks.', 20, ['The city is known for its museums,', 'its cafes and parks.']],
    ['We have three options here; each one is fine for you: pick one.', 20, ['We have three options here;', 'each one is fine for you: pick one.']],
    // Not clause boundaries: a mark without a space after it, a hyphen inside a word.
    ['It costs 1,000,000 dollars in well-known places and more than that.', 10, ['It costs 1,000,000 dollars in well-known places and more than that.']],
    ['The answer is simple enough — we go home early and rest.', 20, ['The answer is simple enough —', 'we go home early and rest.']],
    ['Москва — столица России, и в ней живут миллионы людей.', 15, ['Москва — столица России,', 'и в ней живут миллионы людей.']],
    ['我们今天去公园散步，然后一起去吃饭好吗。', 5, ['我们今天去公园散步，', '然后一起去吃饭好吗。']],
    // 0: whole; blank: nothing; surrounding spaces are trimmed.
    ['It sits on the river Seine, and about twelve million people live in and around it.', 0, ['It sits on the river Seine, and about twelve million people live in and around it.']],
    ['   ', 20, []],
    ['  One clause only, said in a short way.  ', 20, ['One clause only, said in a short way.']],
  ];
  for (const [text, minChars, parts] of rows) {
    test(`${JSON.stringify(text)} (${minChars})`, () => {
      const got = clauseParts(text, minChars);
      assert.deepEqual(got, parts);
      // Nothing is lost or reordered: only the spaces at the cuts go.
      assert.equal(got.join('').replace(/\s+/gu, ''), text.replace(/\s+/gu, ''));
    });
  }
});
