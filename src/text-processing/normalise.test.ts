import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalisePrompt } from './normalise.js';

describe('normalisePrompt', () => {
  const cases: ReadonlyArray<{ name: string; text: string; max: number; want: string }> = [
    { name: 'keeps plain text', text: 'what is the weather', max: 100, want: 'what is the weather' },
    { name: 'trims', text: '  hello  ', max: 100, want: 'hello' },
    { name: 'collapses whitespace runs', text: 'hello   \u00a0 world', max: 100, want: 'hello world' },
    { name: 'line breaks and tabs become spaces', text: 'one\ntwo\r\nthree\tfour', max: 100, want: 'one two three four' },
    { name: 'NEL separates words', text: 'one\u0085two', max: 100, want: 'one two' },
    { name: 'other control characters are dropped', text: 'he\u0000l\u0007lo\u001b \u007fworld\u009b', max: 100, want: 'hello world' },
    { name: 'composes to NFC', text: 'cafe\u0301', max: 100, want: 'caf\u00e9' },
    { name: 'Cyrillic й composed', text: '\u0438\u0306', max: 100, want: '\u0439' },
    { name: 'only whitespace becomes empty', text: ' \n\t ', max: 100, want: '' },
    { name: 'exactly the limit is kept', text: 'abcde', max: 5, want: 'abcde' },
    { name: 'cuts at the last word boundary', text: 'the quick brown fox', max: 13, want: 'the quick' },
    { name: 'cut just before a space keeps the whole word', text: 'the quick brown fox', max: 9, want: 'the quick' },
    { name: 'cut just after a space drops it', text: 'the quick brown fox', max: 10, want: 'the quick' },
    { name: 'hard cut when the boundary is too early', text: 'a verylongwordindeed', max: 10, want: 'a verylong' },
    { name: 'hard cut of one long word', text: 'abcdefghij', max: 4, want: 'abcd' },
    { name: 'never splits a surrogate pair', text: 'ab\u{1F600}\u{1F600}', max: 3, want: 'ab' },
    { name: 'never splits an emoji sequence', text: 'x\u{1F469}\u200D\u{1F4BB}yz', max: 4, want: 'x' },
    { name: 'zero limit', text: 'hello', max: 0, want: '' },
    { name: 'limit applies after collapsing', text: 'a      b', max: 3, want: 'a b' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = normalisePrompt(c.text, c.max);
      assert.equal(got, c.want);
      assert.ok(got.length <= Math.max(c.max, 0));
    });
  }
});
