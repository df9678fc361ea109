/**
 * The one language detector for text: by the script most of its letters are written in. Speech
 * text preparation and voice selection both ask it, so a sentence is read with the rules of the
 * voice that reads it: a mostly English sentence with one Russian name is English
 * ("Call Наташа about the meeting."), a Russian one with a product name is Russian.
 */

/** Writing systems told apart; `latin` carries no language of its own (it falls to the default). */
export type Script =
  | 'latin'
  | 'cyrillic'
  | 'greek'
  | 'arabic'
  | 'hebrew'
  | 'devanagari'
  | 'han'
  | 'kana'
  | 'hangul'
  | 'thai'
  | 'georgian'
  | 'armenian';

const scriptPatterns: ReadonlyArray<readonly [Script, RegExp]> = [
  ['latin', /\p{Script=Latin}/u],
  ['cyrillic', /\p{Script=Cyrillic}/u],
  ['greek', /\p{Script=Greek}/u],
  ['arabic', /\p{Script=Arabic}/u],
  ['hebrew', /\p{Script=Hebrew}/u],
  ['devanagari', /\p{Script=Devanagari}/u],
  ['han', /\p{Script=Han}/u],
  ['kana', /[\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ['hangul', /\p{Script=Hangul}/u],
  ['thai', /\p{Script=Thai}/u],
  ['georgian', /\p{Script=Georgian}/u],
  ['armenian', /\p{Script=Armenian}/u],
];

/** The language a script implies when nothing else says; Latin implies none. */
export const scriptLanguage: Readonly<Record<Script, string | undefined>> = {
  latin: undefined,
  cyrillic: 'ru',
  greek: 'el',
  arabic: 'ar',
  hebrew: 'he',
  devanagari: 'hi',
  han: 'cmn',
  kana: 'ja',
  hangul: 'ko',
  thai: 'th',
  georgian: 'ka',
  armenian: 'hy',
};

const asciiLetter = /[A-Za-z]/;
/** Links say nothing of the language around them (speech text reads them as "link" / "ссылка"). */
const links = /\b(?:https?:\/\/|www\.)\S+/giu;
const letter = /\p{L}/u;

/**
 * The script of most of the text's letters (links left out), or undefined when it has none. Japanese mixes kanji
 * (Han) with kana, so any kana turns the Han letters into Japanese ones.
 */
export function dominantScript(text: string): Script | undefined {
  const counts = new Map<Script, number>();
  for (const char of text.replace(links, ' ')) {
    let script: Script | undefined;
    if (asciiLetter.test(char)) script = 'latin';
    else if (letter.test(char)) script = scriptPatterns.find(([, pattern]) => pattern.test(char))?.[0];
    if (script !== undefined) counts.set(script, (counts.get(script) ?? 0) + 1);
  }
  const kana = counts.get('kana') ?? 0;
  if (kana > 0) {
    counts.set('kana', kana + (counts.get('han') ?? 0));
    counts.delete('han');
  }
  let best: Script | undefined;
  let bestCount = 0;
  for (const [script, count] of counts) {
    if (count > bestCount) {
      best = script;
      bestCount = count;
    }
  }
  return best;
}

/** The language the text's script implies (`ru` for Cyrillic), or undefined for Latin or no letters. */
export function languageOfText(text: string): string | undefined {
  const script = dominantScript(text);
  return script === undefined ? undefined : scriptLanguage[script];
}

/** The languages speech text is prepared for. */
export type SpeechLanguage = 'en' | 'ru';

/** The speech-text language of a text: Russian when most of its letters are Cyrillic, else English. */
export function speechLanguageOf(text: string): SpeechLanguage {
  return dominantScript(text) === 'cyrillic' ? 'ru' : 'en';
}
