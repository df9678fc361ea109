import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dominantScript, languageOfText, speechLanguageOf, type SpeechLanguage } from './language.js';

describe('one language detector', () => {
  const cases: ReadonlyArray<readonly [name: string, text: string, language: string | undefined, speech: SpeechLanguage]> = [
    ['English', 'What time is it?', undefined, 'en'],
    ['Russian', 'Сколько времени?', 'ru', 'ru'],
    ['mostly English with one Russian name', 'Please call Наташа tomorrow about the meeting.', undefined, 'en'],
    ['mostly English with a Russian word and a number', 'The word for thanks is спасибо, said 5-10 times.', undefined, 'en'],
    ['mostly Russian with an English product name', 'Откройте приложение Safari и нажмите кнопку.', 'ru', 'ru'],
    ['Russian with an English URL', 'Подробнее: https://ya.ru/search', 'ru', 'ru'],
    ['no letters', '5-10 → 42%', undefined, 'en'],
    ['empty', '', undefined, 'en'],
    ['Greek', 'Καλημέρα κόσμε', 'el', 'en'],
    ['Japanese: kana turns kanji Japanese', '今日は良い天気ですね', 'ja', 'en'],
  ];
  for (const [name, text, language, speech] of cases) {
    it(`${name}: language ${String(language)}, speech text ${speech}`, () => {
      assert.equal(languageOfText(text), language);
      assert.equal(speechLanguageOf(text), speech);
    });
  }

  it('counts letters, not words: one long Cyrillic word does not outweigh the English around it', () => {
    assert.equal(dominantScript('We met Александровна at the station today.'), 'latin');
  });
});
