import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUpdaterAnswer, updaterPrompt } from './updater-prompt.js';

describe('parseUpdaterAnswer', () => {
  const cases: ReadonlyArray<readonly [string, string, ReturnType<typeof parseUpdaterAnswer>]> = [
    ['a bare object', '{"facts":["User likes tea"],"summary":"Talked about tea."}', { facts: ['User likes tea'], summary: 'Talked about tea.' }],
    ['an object in code fences', '```json\n{"facts":["A"],"summary":"S"}\n```', { facts: ['A'], summary: 'S' }],
    ['an object after a sentence', 'Here is the update: {"facts": [], "summary": "S"} Hope it helps.', { facts: [], summary: 'S' }],
    ['no facts list', '{"summary":"S"}', { facts: [], summary: 'S' }],
    ['an empty summary keeps the current one', '{"facts":["A"],"summary":"  "}', { facts: ['A'] }],
    ['no summary keeps the current one', '{"facts":["A"]}', { facts: ['A'] }],
    ['blank facts are dropped, the rest trimmed', '{"facts":[" A ","", "  "]}', { facts: ['A'] }],
    ['at most maxFacts facts', '{"facts":["1","2","3","4"]}', { facts: ['1', '2', '3'] }],
    ['not JSON', 'I cannot help with that.', undefined],
    ['broken JSON', '{"facts": ["A",}', undefined],
    ['facts of the wrong type', '{"facts":"User likes tea"}', undefined],
    ['a fact that is not a string', '{"facts":[42]}', undefined],
    ['a summary that is not a string', '{"facts":[],"summary":{"text":"S"}}', undefined],
    ['a list without an object', '["User likes tea"]', undefined],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.deepEqual(parseUpdaterAnswer(text, 3), expected));
  }
});

describe('updaterPrompt', () => {
  it('lists known facts, the summary and the turns as a labelled transcript', () => {
    const prompt = updaterPrompt({
      facts: ["User's name is Alex"],
      summary: 'Talked about the weather.',
      turns: [
        { role: 'user', content: 'I like green tea' },
        { role: 'assistant', content: 'Noted.' },
      ],
    });
    assert.match(prompt, /Facts already known:\n- User's name is Alex\n/);
    assert.match(prompt, /Current summary:\nTalked about the weather\.\n/);
    assert.match(prompt, /User: I like green tea\nAssistant: Noted\.$/);
  });

  it('says (none) when nothing is known yet', () => {
    const prompt = updaterPrompt({ facts: [], summary: '', turns: [{ role: 'user', content: 'hi' }] });
    assert.match(prompt, /Facts already known:\n\(none\)\n\nCurrent summary:\n\(none\)\n/);
  });
});
