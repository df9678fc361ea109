import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  MEASUREMENT_OPTIONS,
  SENTENCE_CASES,
  chunkText,
  splitStreamed,
  splitterAccuracy,
  type SentenceCase,
} from '../../test/cases/sentence-cases.js';
import { SentenceSplitter, sentenceSplitterOptions, type SentenceSplitterOptions } from './sentence-splitter.js';

const caseName = (c: SentenceCase, i: number): string => `${c.lang} #${i}: ${JSON.stringify(c.text.slice(0, 60))}`;

describe('the case table, streamed in seeded 1–7 character pieces', () => {
  SENTENCE_CASES.forEach((c, i) => {
    test(caseName(c, i), () => {
      assert.deepEqual(splitStreamed(chunkText(c.text, 1 + i), MEASUREMENT_OPTIONS), c.expected);
    });
  });
});

describe('streaming gives the same sentences as the whole text', () => {
  SENTENCE_CASES.forEach((c, i) => {
    test(caseName(c, i), () => {
      const whole = splitStreamed([c.text], MEASUREMENT_OPTIONS);
      assert.deepEqual(whole, c.expected);
      for (const seed of [7, 42, 1234]) assert.deepEqual(splitStreamed(chunkText(c.text, seed + i), MEASUREMENT_OPTIONS), whole);
      // One UTF-16 unit at a time, which also splits emoji surrogate pairs.
      assert.deepEqual(splitStreamed(c.text.split(''), MEASUREMENT_OPTIONS), whole);
    });
  });
});

describe('the table itself', () => {
  test('has at least 60 English and 60 Russian cases, and some mixed and CJK', () => {
    const count = (lang: string) => SENTENCE_CASES.filter((c) => c.lang === lang).length;
    assert.ok(count('en') >= 60, `en: ${count('en')}`);
    assert.ok(count('ru') >= 60, `ru: ${count('ru')}`);
    assert.ok(count('mixed') >= 3);
    assert.ok(count('cjk') >= 3);
  });

  test('every expected list keeps all of its text, in order', () => {
    for (const c of SENTENCE_CASES) assert.equal(c.expected.join('').replace(/\s+/g, ''), c.text.replace(/\s+/g, ''), c.text);
  });

  test('splitterAccuracy is 100 % on the table, per language too', () => {
    for (const lang of ['en', 'ru', 'mixed', 'cjk']) {
      const result = splitterAccuracy(SENTENCE_CASES.filter((c) => c.lang === lang));
      assert.deepEqual(result.failed, [], lang);
      assert.equal(result.accuracy, 1);
    }
    const all = splitterAccuracy();
    assert.equal(all.total, SENTENCE_CASES.length);
    assert.equal(all.correct, SENTENCE_CASES.length);
  });

  test('splitterAccuracy counts a case wrong unless the whole list matches', () => {
    const cases: SentenceCase[] = [
      { lang: 'en', text: 'One. Two.', expected: ['One.', 'Two.'] },
      { lang: 'en', text: 'One. Two.', expected: ['One. Two.'] },
      { lang: 'en', text: 'One. Two.', expected: ['One.'] },
    ];
    assert.deepEqual(splitterAccuracy(cases), { total: 3, correct: 1, accuracy: 1 / 3, failed: ['One. Two.', 'One. Two.'] });
    assert.deepEqual(splitterAccuracy([]), { total: 0, correct: 0, accuracy: 0, failed: [] });
  });

  test('chunkText is deterministic, keeps code points whole and loses nothing', () => {
    const text = 'Привет 👋🏽 world, 你好。';
    const pieces = chunkText(text, 5);
    assert.deepEqual(chunkText(text, 5), pieces);
    assert.equal(pieces.join(''), text);
    for (const p of pieces) {
      const n = Array.from(p).length;
      assert.ok(n >= 1 && n <= 7);
      assert.ok(!/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(p), 'no lone surrogate at a piece edge');
    }
  });
});

describe('look-ahead', () => {
  const options: SentenceSplitterOptions = MEASUREMENT_OPTIONS;

  test('a sentence comes out as soon as the next non-space character proves the stop final', () => {
    const s = new SentenceSplitter(options);
    assert.deepEqual(s.push('Hello.'), []);
    assert.deepEqual(s.push('  '), []);
    assert.deepEqual(s.push('H'), ['Hello.']);
    assert.deepEqual(s.push('ow are you?'), []);
    assert.deepEqual(s.push('\n'), []);
    assert.deepEqual(s.push('-'), ['How are you?']);
    assert.deepEqual(s.flush(), ['-']);
  });

  test('a blank line ends a sentence without waiting for the next one', () => {
    const s = new SentenceSplitter(options);
    assert.deepEqual(s.push('Title\n\n'), ['Title']);
  });

  test('"$29." waits for the next character instead of cutting at the dot', () => {
    const s = new SentenceSplitter(options);
    assert.deepEqual(s.push('It costs $29.'), []);
    assert.deepEqual(s.push('95. '), []);
    assert.deepEqual(s.push('OK'), ['It costs $29.95.']);
  });

  test('a CJK stop needs no space, only one character to rule out a closing bracket', () => {
    const s = new SentenceSplitter(options);
    assert.deepEqual(s.push('你好。'), []);
    assert.deepEqual(s.push('今'), ['你好。']);
  });

  test('closing quotes and brackets after the stop stay with the sentence', () => {
    assert.deepEqual(splitStreamed(['Он сказал: «Да.»', ' Потом'], options), ['Он сказал: «Да.»', 'Потом']);
    assert.deepEqual(splitStreamed(['He said "Go.', '"', ' Then'], options), ['He said "Go."', 'Then']);
  });

  test('a code block is held until its closing fence', () => {
    const s = new SentenceSplitter(options);
    assert.deepEqual(s.push('```js\nconst a = 1. '), []);
    assert.deepEqual(s.push('Then b.\n'), []);
    assert.deepEqual(s.push('```\nDone.'), ['```js\nconst a = 1. Then b.\n```']);
    assert.deepEqual(s.flush(), ['Done.']);
  });

  test('an unclosed code block comes out whole on flush', () => {
    assert.deepEqual(splitStreamed(['```\nx = 1\n'], options), ['```\nx = 1']);
  });
});

describe('first fragment', () => {
  const options: SentenceSplitterOptions = { firstFragmentMinChars: 24, maxSentenceChars: 400 };

  test('the first segment ends at the first clause boundary past the minimum; later ones are whole sentences', () => {
    const text = 'Sure, here is what I found on your screen, and it looks like a budget. It has rows, columns, and totals.';
    assert.deepEqual(splitStreamed(chunkText(text, 3), options), [
      'Sure, here is what I found on your screen,',
      'and it looks like a budget.',
      'It has rows, columns, and totals.',
    ]);
  });

  /** Each text, streamed whole, and the segments it must become. */
  const segmentsOf = (cases: ReadonlyArray<readonly [string, readonly string[]]>): void => {
    for (const [text, segments] of cases) assert.deepEqual(splitStreamed([text], options), segments);
  };

  test('semicolons, colons and spaced dashes are clause boundaries too', () => {
    segmentsOf([
      ['Москва — это столица России — и крупнейший город.', ['Москва — это столица России —', 'и крупнейший город.']],
      ['Here is the plan for today: first we test.', ['Here is the plan for today:', 'first we test.']],
      ['I checked the whole file; it is fine.', ['I checked the whole file;', 'it is fine.']],
    ]);
  });

  test('a short first sentence is not cut, nor a comma inside a number', () => {
    segmentsOf([
      ['Hi, Anna! The total is 1,250,000 dollars, give or take.', ['Hi, Anna!', 'The total is 1,250,000 dollars, give or take.']],
      ['The population grew to 1,250,000 people.', ['The population grew to 1,250,000 people.']],
    ]);
  });

  test('the clause cut waits for the character after the comma', () => {
    const s = new SentenceSplitter(options);
    assert.deepEqual(s.push('The weather in London today,'), []);
    assert.deepEqual(s.push(' '), ['The weather in London today,']);
  });

  test('the rule applies again after flush and after reset', () => {
    const s = new SentenceSplitter(options);
    const text = 'The weather in London today, as you asked, is mild. ';
    assert.deepEqual(s.push(text), ['The weather in London today,']);
    assert.deepEqual(s.flush(), ['as you asked, is mild.']);
    assert.deepEqual(s.push(text), ['The weather in London today,']);
    s.reset();
    assert.deepEqual(s.push(text), ['The weather in London today,']);
  });

  test('firstFragmentMaxChars cuts a long first segment at the last space before it', () => {
    const s = new SentenceSplitter({ ...options, firstFragmentMaxChars: 30 });
    const out = s.push('This first sentence has no commas at all and goes on. Later sentences are whole again. ');
    assert.deepEqual(out, ['This first sentence has no', 'commas at all and goes on.']);
    assert.deepEqual(s.flush(), ['Later sentences are whole again.']);
  });
});

describe('length limit', () => {
  test('an overlong sentence is cut at the last clause boundary before the limit', () => {
    const options = { firstFragmentMinChars: Infinity, maxSentenceChars: 40 };
    const text = 'This sentence is long, and it keeps going on and on without any stop at all.';
    const out = splitStreamed(chunkText(text, 9), options);
    assert.deepEqual(out, ['This sentence is long,', 'and it keeps going on and on without any', 'stop at all.']);
  });

  test('a word longer than the limit is cut hard, and no segment ever exceeds the limit', () => {
    const options = { firstFragmentMinChars: Infinity, maxSentenceChars: 10 };
    const out = splitStreamed(['see https://example.com/a/very/long/path now.'], options);
    assert.deepEqual(out, ['see', 'https://ex', 'ample.com/', 'a/very/lon', 'g/path', 'now.']);
  });

  test('no segment exceeds the limit and no text is lost, on every case', () => {
    for (const max of [12, 25, 60]) {
      const options = { firstFragmentMinChars: 8, firstFragmentMaxChars: 20, maxSentenceChars: max };
      SENTENCE_CASES.forEach((c, i) => {
        const out = splitStreamed(chunkText(c.text, i), options);
        for (const [n, segment] of out.entries()) assert.ok(segment.length <= (n === 0 ? Math.min(20, max) : max), segment);
        assert.equal(out.join('').replace(/\s+/g, ''), c.text.replace(/\s+/g, ''));
      });
    }
  });

  test('a code block over the limit is cut at a line end and its closing fence still ends it', () => {
    const options = { firstFragmentMinChars: Infinity, maxSentenceChars: 30 };
    const text = '```\nline one is here\nline two is here\nline three\n```\nAfter the code.';
    assert.deepEqual(splitStreamed(chunkText(text, 4), options), [
      '```\nline one is here',
      'line two is here\nline three',
      '```',
      'After the code.',
    ]);
  });
});

describe('flush and reset', () => {
  const options = MEASUREMENT_OPTIONS;

  test('flush returns the undecided rest, then nothing', () => {
    const s = new SentenceSplitter(options);
    assert.deepEqual(s.push('One. Two'), ['One.']);
    assert.deepEqual(s.flush(), ['Two']);
    assert.deepEqual(s.flush(), []);
  });

  test('flush decides a stop at the very end, abbreviations included', () => {
    assert.deepEqual(splitStreamed(['We met Dr. '], options), ['We met Dr.']);
    assert.deepEqual(splitStreamed(['Done! 🎉'], options), ['Done! 🎉']);
  });

  test('reset drops what was held, so an interrupted reply leaves nothing behind', () => {
    const s = new SentenceSplitter(options);
    assert.deepEqual(s.push('Half a sent'), []);
    s.reset();
    assert.deepEqual(s.push('New reply. '), []);
    assert.deepEqual(s.flush(), ['New reply.']);
  });

  test('whitespace alone never makes a segment', () => {
    assert.deepEqual(splitStreamed(['  ', '\n\n', '\t '], options), []);
    assert.deepEqual(splitStreamed(['\n\nHi.\n\n\n\nBye.\n\n'], options), ['Hi.', 'Bye.']);
  });

  test('options come from the pipeline config section', () => {
    const pipeline = { first_fragment_min_chars: 24, first_fragment_max_chars: 120, max_sentence_chars: 400 };
    assert.deepEqual(sentenceSplitterOptions(pipeline), {
      firstFragmentMinChars: 24,
      firstFragmentMaxChars: 120,
      maxSentenceChars: 400,
    });
  });

  test('bad options are refused', () => {
    assert.throws(() => new SentenceSplitter({ firstFragmentMinChars: -1, maxSentenceChars: 10 }), RangeError);
    assert.throws(() => new SentenceSplitter({ firstFragmentMinChars: 1, maxSentenceChars: 0 }), RangeError);
    assert.throws(() => new SentenceSplitter({ firstFragmentMinChars: 1, maxSentenceChars: 10, firstFragmentMaxChars: 0 }), RangeError);
  });
});

test('cut() ends the sentence in progress but not the reply: no new first fragment after it', () => {
  const splitter = new SentenceSplitter({ firstFragmentMinChars: 4, maxSentenceChars: 400 });
  assert.deepEqual(splitter.push('Opening Safari.'), []);
  assert.deepEqual(splitter.cut(), ['Opening Safari.']);
  assert.deepEqual(splitter.push(' Done, it is open.'), []);
  assert.deepEqual(splitter.flush(), ['Done, it is open.']);
  // flush() ends the reply: the next one may start with a short first fragment again.
  assert.deepEqual(splitter.push('Sure, I can help. '), ['Sure,']);
});
