import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import {
  PROMPT_VARIABLES,
  PromptTemplate,
  clockValues,
  detectLanguage,
  languageName,
  loadSystemPrompt,
  memoryBlock,
  screenLine,
  type PromptVariable,
  type PromptsSection,
} from './prompts.js';

const ROOT = join(import.meta.dirname, '../..');
const FIXED = new Date('2025-03-14T13:05:00Z');
const values = (overrides: Partial<Record<PromptVariable, string>> = {}): Record<PromptVariable, string> => ({
  ...(Object.fromEntries(PROMPT_VARIABLES.map((v) => [v, `<${v}>`])) as Record<PromptVariable, string>),
  ...overrides,
});

describe('PromptTemplate', () => {
  const cases: ReadonlyArray<{ name: string; text: string; values?: Partial<Record<PromptVariable, string>>; want: string }> = [
    { name: 'plain text stays as it is', text: 'Be brief.', want: 'Be brief.' },
    { name: 'a variable is filled in', text: 'You are {{assistant_name}}.', values: { assistant_name: 'Nexy' }, want: 'You are Nexy.' },
    { name: 'spaces inside the braces are allowed', text: 'It is {{ date }}.', values: { date: 'Friday' }, want: 'It is Friday.' },
    { name: 'a variable may repeat', text: '{{time}} {{time}}', values: { time: '14:05' }, want: '14:05 14:05' },
    { name: 'an empty variable on its own line leaves no gap', text: 'A.\n\n{{screen}}\n\nB.', values: { screen: '' }, want: 'A.\n\nB.' },
    { name: 'empty variables at the end are trimmed', text: 'A.\n\n{{memory}}\n', values: { memory: '' }, want: 'A.' },
    { name: 'a multi-line value keeps its lines', text: '{{memory}}', values: { memory: 'x:\n- a\n- b' }, want: 'x:\n- a\n- b' },
    { name: 'single braces are plain text', text: 'Use {json} freely.', want: 'Use {json} freely.' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { template, problems } = PromptTemplate.parse(c.text);
      assert.deepEqual(problems, []);
      assert.equal(template.render(values(c.values)), c.want);
    });
  }

  const bad: ReadonlyArray<{ name: string; text: string; problem: RegExp }> = [
    { name: 'an unknown variable, with its line', text: 'Hi.\nIt is {{weekday}}.', problem: /^line 2: unknown variable \{\{weekday\}\}/ },
    { name: 'a misspelt variable', text: '{{assistantname}}', problem: /unknown variable \{\{assistantname\}\}/ },
    { name: 'an empty placeholder', text: '{{}}', problem: /unknown variable \{\{\}\}/ },
    { name: 'an unclosed placeholder', text: 'It is {{date}.', problem: /^line 1: "\{\{" outside a \{\{variable\}\}/ },
    { name: 'a stray closing pair', text: 'x\n\ny }} z', problem: /^line 3: "\}\}"/ },
  ];
  for (const c of bad) {
    it(`reports ${c.name}`, () => {
      const { problems } = PromptTemplate.parse(c.text);
      assert.equal(problems.length, 1, problems.join('; '));
      assert.match(problems[0], c.problem);
    });
  }

  it('reports every problem at once', () => {
    assert.equal(PromptTemplate.parse('{{a}} {{b}} {{date}').problems.length, 3);
  });

  it('lists the variables it uses, once each', () => {
    assert.deepEqual(PromptTemplate.parse('{{date}} {{time}} {{date}}').template.variables, ['date', 'time']);
  });

  it('the shipped template parses and uses every variable', () => {
    const section = loadConfig({ env: {} }).text_processing.prompts;
    const result = loadSystemPrompt(section, { baseDir: ROOT, now: () => FIXED });
    assert.ok(result.ok, result.ok ? '' : result.problems.join('; '));
    const used = PromptTemplate.parse(readFileSync(join(ROOT, section.system), 'utf8')).template.variables;
    assert.deepEqual([...used].sort(), [...PROMPT_VARIABLES].sort());
  });
});

describe('detectLanguage', () => {
  const cases: ReadonlyArray<{ text: string; want: string }> = [
    { text: 'What is the weather in Paris?', want: 'en' },
    { text: 'Какая погода в Москве?', want: 'ru' },
    { text: 'Открой Safari, пожалуйста', want: 'ru' },
    { text: 'open Safari and Telegram плиз', want: 'en' },
    { text: '', want: 'en' },
    { text: '42 + 7 = ?', want: 'en' },
    { text: 'Quelle heure est-il ?', want: 'en' }, // Latin script names no language: the fallback
    { text: 'Τι ώρα είναι;', want: 'el' },
  ];
  for (const c of cases) it(`${JSON.stringify(c.text)} → ${c.want}`, () => assert.equal(detectLanguage(c.text, 'en'), c.want));
  it('the fallback is configurable', () => assert.equal(detectLanguage('hello', 'de'), 'de'));
});

describe('languageName', () => {
  it('names known languages in English', () => {
    assert.equal(languageName('ru'), 'Russian');
    assert.equal(languageName('en'), 'English');
  });
  it('returns an unknown or invalid code as it is', () => {
    assert.equal(languageName('zz'), 'zz');
    assert.equal(languageName('not a tag!'), 'not a tag!');
  });
});

describe('prompt values', () => {
  it('date and time in the configured zone', () => {
    assert.deepEqual(clockValues(FIXED, 'UTC'), { date: 'Friday, 14 March 2025', time: '13:05' });
    assert.deepEqual(clockValues(FIXED, 'Asia/Tokyo'), { date: 'Friday, 14 March 2025', time: '22:05' });
    assert.deepEqual(clockValues(new Date('2025-03-14T23:30:00Z'), 'Europe/Moscow'), { date: 'Saturday, 15 March 2025', time: '02:30' });
  });

  it('memory block: facts and summary, or nothing', () => {
    assert.equal(memoryBlock({ facts: [], summary: '' }), '');
    assert.equal(memoryBlock({ facts: ['likes tea'], summary: '' }), 'What you know about the user:\n- likes tea');
    assert.equal(
      memoryBlock({ facts: ['a', 'b'], summary: 'talked about Paris' }),
      'What you know about the user:\n- a\n- b\n\nSummary of the earlier conversation:\ntalked about Paris',
    );
  });

  it('screen line: size when known, nothing without a screenshot', () => {
    assert.equal(screenLine(undefined), '');
    assert.match(screenLine({ width: 1440, height: 900 }), /screenshot of the user's screen \(1440×900 pixels\) is attached/);
    assert.doesNotMatch(screenLine({}), /pixels/);
  });
});

describe('loadSystemPrompt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-prompts-'));
  const section = (overrides: Partial<PromptsSection> = {}): PromptsSection => ({
    system: 'system.md',
    assistant_name: 'Nexy',
    timezone: 'UTC',
    default_language: 'en',
    ...overrides,
  });
  writeFileSync(join(dir, 'system.md'), 'You are {{assistant_name}}. {{date}} {{time}} {{timezone}}. Language: {{user_language}}.\n\n{{screen}}\n\n{{memory}}');
  writeFileSync(join(dir, 'bad.md'), '{{nope}} and {{date}');

  it('renders a turn with the injected clock, the detected language, screen and memory', () => {
    const result = loadSystemPrompt(section(), { baseDir: dir, now: () => FIXED });
    assert.ok(result.ok);
    const text = result.prompt.render({
      prompt: 'Что на экране?',
      memory: { facts: ['lives in Riga'], summary: '' },
      screenshot: { width: 800, height: 600 },
      actionsOffered: false,
    });
    assert.equal(
      text,
      "You are Nexy. Friday, 14 March 2025 13:05 UTC. Language: Russian.\n\nA screenshot of the user's screen (800×600 pixels) is attached to their message: it shows their screen right now.\n\nWhat you know about the user:\n- lives in Riga",
    );
  });

  it('without screenshot or memory the prompt has no empty sections', () => {
    const result = loadSystemPrompt(section(), { baseDir: dir, now: () => FIXED });
    assert.ok(result.ok);
    assert.equal(
      result.prompt.render({ prompt: 'hi', memory: { facts: [], summary: '' }, actionsOffered: false }),
      'You are Nexy. Friday, 14 March 2025 13:05 UTC. Language: English.',
    );
  });

  it('the clock moves on between turns: a new minute (or day) is told to the model', () => {
    let now = new Date('2025-03-14T23:59:10Z');
    const result = loadSystemPrompt(section(), { baseDir: dir, now: () => now });
    assert.ok(result.ok);
    const turn = { prompt: 'hi', memory: { facts: [], summary: '' }, actionsOffered: false };
    assert.equal(result.prompt.values(turn).time, '23:59');
    now = new Date('2025-03-14T23:59:50Z');
    assert.equal(result.prompt.values(turn).time, '23:59');
    now = new Date('2025-03-15T00:00:00Z');
    assert.deepEqual([result.prompt.values(turn).date, result.prompt.values(turn).time], ['Saturday, 15 March 2025', '00:00']);
    // A clock set back (NTP) is followed too.
    now = new Date('2025-03-14T23:58:59Z');
    assert.equal(result.prompt.values(turn).time, '23:58');
  });

  it('an absolute path is used as it is', () => {
    assert.ok(loadSystemPrompt(section({ system: join(dir, 'system.md') }), { baseDir: '/nonexistent', now: () => FIXED }).ok);
  });

  it('empty timezone: the server zone', () => {
    const result = loadSystemPrompt(section({ timezone: '' }), { baseDir: dir, now: () => FIXED });
    assert.ok(result.ok);
  });

  const failures: ReadonlyArray<{ name: string; section: Partial<PromptsSection>; want: RegExp[] }> = [
    { name: 'a missing file', section: { system: 'missing.md' }, want: [/text_processing\.prompts\.system: cannot read .*missing\.md \(ENOENT\)/] },
    { name: 'template problems, naming the file', section: { system: 'bad.md' }, want: [/bad\.md\) line 1: unknown variable \{\{nope\}\}/, /"\{\{" outside/] },
    { name: 'an unknown time zone', section: { timezone: 'Mars/Olympus' }, want: [/text_processing\.prompts\.timezone: unknown time zone "Mars\/Olympus"/] },
    { name: 'a bad language tag', section: { default_language: 'english!' }, want: [/default_language: "english!" is not a language tag/] },
    { name: 'every problem at once', section: { system: 'missing.md', timezone: 'Nowhere' }, want: [/cannot read/, /unknown time zone/] },
  ];
  for (const c of failures) {
    it(`reports ${c.name}`, () => {
      const result = loadSystemPrompt(section(c.section), { baseDir: dir, now: () => FIXED });
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.problems.length, c.want.length, result.problems.join('; '));
      c.want.forEach((pattern, i) => assert.match(result.problems[i], pattern));
    });
  }
});
