import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { testConfig } from '../../test/support/harness.js';
import { MEASUREMENT_OPTIONS, splitStreamed } from '../../test/cases/sentence-cases.js';
import { sentenceSplitterOptions } from './sentence-splitter.js';

// Property tests of the sentence splitter on arbitrary model output: text built from pieces that
// matter to it (stops, abbreviations, numbers, quotes, fences, newlines) and arbitrary Unicode.
const PRODUCTION = sentenceSplitterOptions(testConfig().pipeline);
const token = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom('Hello', 'world', 'Dr.', 'e.g.', 'U.S.', '$29.95', '3.14', 'т.е.', 'Привет', '你好', '。', '!', '?', '...', '…', '"', '«', '»', ')'),
  },
  { weight: 4, arbitrary: fc.constantFrom(' ', ' ', '. ', '\n', '\n\n', '```', '- ', '1. ', '**', '`') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  // Long runs without a stop: the length limits must cut them.
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 600 }) },
);
const reply = fc.array(token, { maxLength: 120 }).map((t) => t.join(''));
/** The reply cut into pieces at arbitrary UTF-16 offsets (emoji halves included), as a model streams it. */
const streamed = reply.chain((text) =>
  fc.uniqueArray(fc.nat({ max: text.length }), { maxLength: 12 }).map((cuts) => {
    const at = [0, ...cuts.sort((a, b) => a - b), text.length];
    return { text, pieces: at.slice(1).map((end, i) => text.slice(at[i], end)) };
  }),
);
const squash = (s: string) => s.replace(/\s+/gu, '');

test('splitter: nothing is lost or invented: the segments hold exactly the reply\'s non-space characters', () => {
  fc.assert(
    fc.property(streamed, ({ text, pieces }) => {
      for (const options of [MEASUREMENT_OPTIONS, PRODUCTION]) {
        const segments = splitStreamed(pieces, options);
        assert.equal(squash(segments.join('')), squash(text));
        for (const s of segments) assert.ok(s !== '' && s === s.trim(), JSON.stringify(s));
      }
    }),
    { numRuns: 300 },
  );
});

test('splitter: however the reply is cut into pieces, the sentences are the same', () => {
  fc.assert(
    fc.property(streamed, ({ text, pieces }) => {
      assert.deepEqual(splitStreamed(pieces, MEASUREMENT_OPTIONS), splitStreamed([text], MEASUREMENT_OPTIONS));
    }),
    { numRuns: 300 },
  );
});

test('splitter: with the configured limits no segment is longer than max_sentence_chars', () => {
  fc.assert(
    fc.property(streamed, ({ pieces }) => {
      for (const s of splitStreamed(pieces, PRODUCTION)) assert.ok(s.length <= PRODUCTION.maxSentenceChars, `${s.length}`);
    }),
    { numRuns: 300 },
  );
});
