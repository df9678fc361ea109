import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitForSynthesis } from './text-segments.js';

describe('splitForSynthesis', () => {
  const cases: ReadonlyArray<readonly [string, string, number | undefined, string[]]> = [
    ['blank text gives nothing', '  \n ', 20, []],
    ['short text stays whole (trimmed)', '  Hello Mr. Smith. How are you?  ', 40, ['Hello Mr. Smith. How are you?']],
    ['no limit keeps everything whole', 'One. Two. Three.', undefined, ['One. Two. Three.']],
    ['sentences merged while they fit', 'One two. Three four. Five six.', 20, ['One two. Three four.', 'Five six.']],
    ['each sentence alone when two do not fit', 'Aaaa bbbb. Cccc dddd.', 12, ['Aaaa bbbb.', 'Cccc dddd.']],
    ['a long sentence is cut at spaces', 'one two three four five six', 10, ['one two', 'three four', 'five six']],
    ['a word longer than the limit is cut', 'abcdefghij', 4, ['abcd', 'efgh', 'ij']],
    ['Cyrillic sentences', 'Привет. Как дела? Хорошо.', 12, ['Привет.', 'Как дела?', 'Хорошо.']],
    ['surrogate pairs are never split', '😀😀😀', 3, ['😀', '😀', '😀']],
  ];
  for (const [name, text, max, expected] of cases) {
    it(name, () => assert.deepEqual(splitForSynthesis(text, max), expected));
  }

  it('every piece respects the limit and no text is lost', () => {
    const text = 'This is a sentence with several words in it. '.repeat(30) + 'Averyveryverylongwordthatneverends'.repeat(5);
    const pieces = splitForSynthesis(text, 50);
    for (const piece of pieces) assert.ok(piece.length <= 50, piece);
    assert.equal(pieces.join('').replace(/\s/g, ''), text.replace(/\s/g, ''));
  });

  it('rejects a limit below one', () => assert.throws(() => splitForSynthesis('two words', 0), RangeError));
});
