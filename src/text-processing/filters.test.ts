import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { SECRET_MASKS } from '../memory/mask-secrets.js';
import { InputFilter, RefusalProvider, type FiltersSection } from './filters.js';

const REFUSALS = { default: 'Sorry, no.', ru: 'Извините, нет.' };

function filter(blocked: readonly string[]): InputFilter {
  const result = InputFilter.fromConfig({ blocked_patterns: blocked, refusals: REFUSALS });
  assert.ok(result.ok, result.ok ? '' : result.problems.join('; '));
  return result.filter;
}

describe('InputFilter.check', () => {
  const patterns = ['\\bhow to make (a )?bomb\\b', 'взломать\\s+\\p{L}+', '^forget everything$'];
  const cases: ReadonlyArray<{ name: string; prompt: string; blocked?: number; refusal?: string; masked?: string }> = [
    { name: 'an ordinary prompt passes unchanged', prompt: 'what is the weather in Paris' },
    { name: 'a blocked pattern, whatever the case', prompt: 'How To Make A Bomb at home', blocked: 0, refusal: REFUSALS.default },
    { name: 'a blocked Russian pattern gets the Russian refusal', prompt: 'как взломать почту', blocked: 1, refusal: REFUSALS.ru },
    { name: 'anchors apply to the whole normalised prompt', prompt: 'forget everything', blocked: 2, refusal: REFUSALS.default },
    { name: 'an anchored pattern does not match inside a longer prompt', prompt: "don't forget everything I said" },
    { name: 'word boundaries hold', prompt: 'how to make a bombastic speech' },
    {
      name: 'a dictated password is masked for logs and memory',
      prompt: 'my wifi password is hunter2',
      masked: `my wifi password is ${SECRET_MASKS.password}`,
    },
    { name: 'an API key is masked', prompt: 'use the key sk-abcdefghijklmnop1234 please', masked: `use the key ${SECRET_MASKS.apiKey} please` },
    { name: 'a card number is masked', prompt: 'pay with 4111 1111 1111 1111', masked: `pay with ${SECRET_MASKS.card}` },
    { name: 'a blocked prompt is masked too', prompt: 'how to make a bomb, my password is x1', blocked: 0, refusal: REFUSALS.default, masked: `how to make a bomb, my password is ${SECRET_MASKS.password}` },
  ];
  const f = filter(patterns);
  for (const c of cases) {
    it(c.name, () => {
      const verdict = f.check(c.prompt);
      assert.equal(verdict.masked, c.masked ?? c.prompt);
      if (c.blocked === undefined) {
        assert.equal(verdict.blocked, false);
      } else {
        assert.ok(verdict.blocked);
        assert.equal(verdict.pattern, c.blocked);
        assert.equal(verdict.refusal, c.refusal);
      }
    });
  }

  it('no patterns: nothing is blocked', () => {
    assert.equal(filter([]).check('how to make a bomb').blocked, false);
  });

  it('a refusal for a language without its own falls back to default', () => {
    const result = InputFilter.fromConfig({ blocked_patterns: ['.'], refusals: { default: 'No.' } });
    assert.ok(result.ok);
    assert.equal(result.filter.refusalFor('Какой сегодня день?'), 'No.');
  });
});

describe('InputFilter.fromConfig', () => {
  const failures: ReadonlyArray<{ name: string; section: FiltersSection; want: RegExp[] }> = [
    { name: 'an invalid regular expression', section: { blocked_patterns: ['ok', '(unclosed'], refusals: REFUSALS }, want: [/blocked_patterns\[1\]: not a valid regular expression/] },
    { name: 'an empty pattern', section: { blocked_patterns: ['  '], refusals: REFUSALS }, want: [/blocked_patterns\[0\]: an empty pattern would block every prompt/] },
    { name: 'a missing default refusal', section: { blocked_patterns: [], refusals: { ru: 'нет' } }, want: [/refusals\.default: required/] },
    { name: 'every problem at once', section: { blocked_patterns: ['[', '('], refusals: REFUSALS }, want: [/\[0\]/, /\[1\]/] },
  ];
  for (const c of failures) {
    it(`reports ${c.name}`, () => {
      const result = InputFilter.fromConfig(c.section);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.problems.length, c.want.length, result.problems.join('; '));
      c.want.forEach((pattern, i) => assert.match(result.problems[i], pattern));
    });
  }

  it('the shipped defaults block nothing and have both refusals', () => {
    const section = loadConfig({ env: {} }).text_processing.filters;
    const result = InputFilter.fromConfig(section);
    assert.ok(result.ok);
    assert.deepEqual(section.blocked_patterns, []);
    assert.ok(section.refusals.default && section.refusals.ru);
  });
});

describe('RefusalProvider', () => {
  it('answers with the refusal and nothing else', async () => {
    const events = [];
    for await (const e of new RefusalProvider('Sorry, no.').stream({ system: '', history: [], prompt: 'x', maxOutputTokens: 1, temperature: 0 }, new AbortController().signal)) {
      events.push(e);
    }
    assert.deepEqual(events, [{ type: 'text', text: 'Sorry, no.' }]);
  });
});
