import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { mergeSpeech } from './collect-merge.js';

// Property tests of the COLLECT merge (docs/PROTOCOL.md): arbitrary speech, with words drawn from a
// small vocabulary so that overlaps and repeats actually happen, plus arbitrary Unicode.
const word = fc.constantFrom('what', 'is', 'the', 'The', 'weather', 'weather?', 'hello', 'e-mail', 'я', 'вижу', '42', '...');
const phrase = fc.array(word, { maxLength: 8 }).map((w) => w.join(' '));
const speech = fc.oneof(phrase, fc.string({ unit: 'grapheme', maxLength: 40 }), phrase.map((p) => ` ${p} `));
const hasWords = (text: string) => /\S/u.test(text);
const lastWord = (text: string) => text.trim().split(/\s+/u).at(-1) ?? '';

test('merge: never throws, and the result is the buffer, the piece, or the buffer with more appended', () => {
  fc.assert(
    fc.property(speech, speech, (buffer, piece) => {
      const merged = mergeSpeech(buffer, piece);
      assert.ok(merged === buffer || merged === piece || merged.startsWith(buffer), JSON.stringify({ buffer, piece, merged }));
    }),
    { numRuns: 500 },
  );
});

test('merge: an empty side keeps the other; a repeat (stale snapshot) keeps the buffer', () => {
  fc.assert(
    fc.property(speech, (text) => {
      assert.equal(mergeSpeech(text, ''), text);
      assert.equal(mergeSpeech(text, '   '), text);
      if (hasWords(text)) assert.equal(mergeSpeech('', text), text);
      assert.equal(mergeSpeech(text, text), text);
    }),
    { numRuns: 300 },
  );
});

test('merge: a grown snapshot (the buffer and more) replaces the buffer', () => {
  fc.assert(
    fc.property(phrase.filter(hasWords), phrase.filter(hasWords), (buffer, more) => {
      const grown = `${buffer} ${more}`;
      assert.equal(mergeSpeech(buffer, grown), grown);
    }),
    { numRuns: 300 },
  );
});

test('merge: what the user said last is where the merged text ends, unless the piece added nothing', () => {
  fc.assert(
    fc.property(speech, speech, (buffer, piece) => {
      const merged = mergeSpeech(buffer, piece);
      if (merged !== buffer) assert.equal(lastWord(merged), lastWord(piece), JSON.stringify({ buffer, piece, merged }));
    }),
    { numRuns: 500 },
  );
});

test('merge: merging the pieces one by one never loses a word count below the longest piece', () => {
  fc.assert(
    fc.property(fc.array(speech, { maxLength: 6 }), (pieces) => {
      const merged = pieces.reduce(mergeSpeech, '');
      const count = (t: string) => t.split(/\s+/u).filter((w) => w !== '').length;
      const longest = Math.max(0, ...pieces.map(count));
      assert.ok(count(merged) >= longest, JSON.stringify({ pieces, merged }));
    }),
    { numRuns: 300 },
  );
});
