import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configuredVoiceLookup, dominantScript, languageOfText, selectVoice, type VoiceLookup } from './voice-select.js';

describe('dominantScript', () => {
  const cases: ReadonlyArray<readonly [string, string, ReturnType<typeof dominantScript>]> = [
    ['English', 'Hello, how are you?', 'latin'],
    ['Russian', 'Привет, как дела?', 'cyrillic'],
    ['Russian with one English word', 'Открой Safari, пожалуйста', 'cyrillic'],
    ['English with one Russian word', 'Say привет to everyone here today', 'latin'],
    ['majority decides (4 Latin, 3 Cyrillic)', 'abcd эюя', 'latin'],
    ['majority decides (3 Latin, 4 Cyrillic)', 'abc эюяж', 'cyrillic'],
    ['digits and punctuation only', '12:30 — 42%!', undefined],
    ['empty', '', undefined],
    ['Greek', 'Καλημέρα κόσμε', 'greek'],
    ['Chinese', '你好世界', 'han'],
    ['Japanese: kanji count with kana', '日本語を話します', 'kana'],
    ['Korean', '안녕하세요', 'hangul'],
    ['Ukrainian is Cyrillic', 'Добрий день, їжак', 'cyrillic'],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.equal(dominantScript(text), expected));
  }
});

describe('languageOfText', () => {
  it('Cyrillic text implies Russian', () => assert.equal(languageOfText('Сколько времени?'), 'ru'));
  it('Latin text implies no language', () => assert.equal(languageOfText('What time is it?'), undefined));
});

describe('selectVoice', () => {
  const engineVoices = new Map([
    ['en-us', 'en-us'],
    ['gmw/en-us', 'en-us'],
    ['en', 'en'],
    ['ru', 'ru'],
    ['russian', 'ru'],
    ['de', 'de'],
    ['el', 'el'],
  ]);
  const engineLanguages = new Map([
    ['en', 'en'],
    ['en-gb', 'en'],
    ['en-us', 'en-us'],
    ['ru', 'ru'],
    ['de', 'de'],
    ['el', 'el'],
  ]);
  const lookup: VoiceLookup = {
    configured: { default: 'en-us', en: 'en-us', ru: 'ru' },
    voice: (id) => engineVoices.get(id),
    voiceForLanguage: (language) => engineLanguages.get(language),
  };
  const cases: ReadonlyArray<readonly [string, string, { voice?: string; language?: string }, string]> = [
    ['English text, nothing requested → default', 'Hello there.', {}, 'en-us'],
    ['Russian text, nothing requested → ru from its script', 'Привет, как дела?', {}, 'ru'],
    ['explicit voice the engine has wins over the script', 'Привет', { voice: 'en-us' }, 'en-us'],
    ['explicit voice is matched case-insensitively', 'Hello', { voice: 'Russian' }, 'ru'],
    ['unknown explicit voice falls through to the script', 'Привет', { voice: 'alloy' }, 'ru'],
    ['language from the config map', 'Hello', { language: 'en' }, 'en-us'],
    ['region tag falls back to its primary subtag in the map', 'Hello', { language: 'en_AU' }, 'en-us'],
    ['a language the config does not map but the engine has', 'Guten Tag', { language: 'de' }, 'de'],
    ['English language hint does not read Cyrillic text', 'Привет, как дела?', { language: 'en' }, 'ru'],
    ['Russian language hint reads Latin text in the Russian voice', 'OK', { language: 'ru' }, 'ru'],
    ['unknown language falls to the script', 'Привет', { language: 'xx' }, 'ru'],
    ['unknown language with Latin text → default', 'Hello', { language: 'xx' }, 'en-us'],
    ['script with an engine voice but no config entry', 'Καλημέρα', {}, 'el'],
    ['script the engine has no voice for → default', '안녕하세요', {}, 'en-us'],
    ['blank voice and language are ignored', 'Hello', { voice: ' ', language: '' }, 'en-us'],
  ];
  for (const [name, text, request, expected] of cases) {
    it(name, () => assert.equal(selectVoice(text, request, lookup), expected));
  }
});

describe('configuredVoiceLookup', () => {
  const lookup = configuredVoiceLookup({ default: 'en-US-AriaNeural', ru: 'ru-RU-SvetlanaNeural' });
  it('explicit configured voices in any case, in the config\'s spelling', () => {
    assert.equal(selectVoice('Hello.', { voice: 'EN-us-arianeural' }, lookup), 'en-US-AriaNeural');
  });
  it('an unknown explicit voice falls to the language, then the default', () => {
    assert.equal(selectVoice('Hello.', { voice: 'nope' }, lookup), 'en-US-AriaNeural');
    assert.equal(selectVoice('Привет.', { voice: 'nope' }, lookup), 'ru-RU-SvetlanaNeural');
  });
});
