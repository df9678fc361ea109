/**
 * What the TTS reads for a piece of the reply. The client's `text_chunk` keeps the display text;
 * only the synthesizer gets this version.
 *
 * - Markdown goes: headings, emphasis, inline code marks (the code itself is read), links (their
 *   text is read), images, bullets, quotes, rules and table pipes. Fenced code blocks are dropped
 *   entirely: the user sees them on screen, a reply introduces them ("Here is the command:"), and
 *   neither the code nor the word "code" tells a listener anything more.
 * - Bare URLs become "link" / "ссылка"; e-mail addresses and file names stay (eSpeak reads
 *   "john at mail dot com" well enough). Emoji and pictographs go (eSpeak reads their names).
 * - Only what eSpeak NG was heard to read badly is expanded, each checked with its IPA output:
 *   "&" ("ampersand" in Russian), "~5" ("tilde"), "5-10" ("five dash ten"), "#5" ("hash"),
 *   "°C" ("degrees C"; English in Russian), Russian "%" and units after numbers (no agreement:
 *   "пятьдесят процент"), "₽" and "€" (silent in Russian), "тыс./млн/млрд" (spelled out),
 *   "т.е., т.к., и т.д., и т.п., и др., напр." (spelled out), "в 1799 г." ("гэ"), space-grouped
 *   thousands ("1 000 000" read digit by digit), "i.e./vs./approx.", "*" between numbers.
 *   Numbers stay digits: eSpeak reads them in both languages.
 * The result is one line; it is empty when nothing speakable is left (a code block, a rule, an
 * emoji alone), so the caller can skip synthesis.
 */

import { speechLanguageOf, type SpeechLanguage } from './language.js';

export type { SpeechLanguage };

type Forms = readonly [one: string, few: string, many: string];

const WORDS = {
  en: { link: 'link', and: 'and', about: 'about', number: 'number', times: 'times' },
  ru: { link: 'ссылка', and: 'и', about: 'примерно', number: 'номер', times: 'умножить на' },
} as const;

/** A number as written: "5", "2,5", "1,299.99", "+18", "-3" (after space-grouped thousands are joined). */
const NUM = String.raw`[+-]?\d(?:[\d.,]*\d)?`;
const CURRENCY_EN: Record<string, readonly [string, string]> = {
  $: ['dollar', 'dollars'],
  '€': ['euro', 'euros'],
  '£': ['pound', 'pounds'],
  '₽': ['ruble', 'rubles'],
};
const CURRENCY_RU: Record<string, Forms> = {
  $: ['доллар', 'доллара', 'долларов'],
  '€': ['евро', 'евро', 'евро'],
  '£': ['фунт', 'фунта', 'фунтов'],
  '₽': ['рубль', 'рубля', 'рублей'],
};
const SCALE_EN: Record<string, string> = {
  k: 'thousand',
  thousand: 'thousand',
  m: 'million',
  million: 'million',
  bn: 'billion',
  billion: 'billion',
  trillion: 'trillion',
};
const SCALE_RU: Record<string, Forms> = {
  тыс: ['тысяча', 'тысячи', 'тысяч'],
  млн: ['миллион', 'миллиона', 'миллионов'],
  млрд: ['миллиард', 'миллиарда', 'миллиардов'],
};
const SCALE_AFTER_NUMBER = new RegExp(String.raw`(${NUM})\s?(тыс|млн|млрд)(?:\.|(?![\p{L}]))`, 'gu');
const KOPECKS: Forms = ['копейка', 'копейки', 'копеек'];
const PERCENTS: Forms = ['процент', 'процента', 'процентов'];
const DEGREE_FORMS: Forms = ['градус', 'градуса', 'градусов'];
/** Russian abbreviations read letter by letter by eSpeak, spelled out (all invariable). */
const RU_ABBREVIATIONS: readonly (readonly [RegExp, string])[] = [
  [/(^|[^\p{L}])([Тт])\.\s?е\./gu, '$1$2о есть'],
  [/(^|[^\p{L}])([Тт])\.\s?к\./gu, '$1$2ак как'],
  [/(^|[^\p{L}])([Ии]) т\.\s?д\./gu, '$1$2 так далее'],
  [/(^|[^\p{L}])([Ии]) т\.\s?п\./gu, '$1$2 тому подобное'],
  [/(^|[^\p{L}])([Ии]) др\./gu, '$1$2 другие'],
  [/(^|[^\p{L}])([Нн])апр\./gu, '$1$2апример'],
];
const EN_ABBREVIATIONS: readonly (readonly [RegExp, string])[] = [
  [/\bi\.\s?e\./gi, 'that is'],
  [/\bvs\.(?=\s)/gi, 'versus'],
  [/\bapprox\.(?=\s)/gi, 'approximately'],
  [/\bNo\.\s?(?=\d)/g, 'number '],
];

// Pictographs, flags, skin tones, joiners, variation selectors, keycaps and flag tags.
const EMOJI = /[\p{Extended_Pictographic}\p{Regional_Indicator}\u{1f3fb}-\u{1f3ff}\u200d\ufe0f\u20e3\u{e0020}-\u{e007f}]/gu;
const URL = /\b(?:(?:https?|ftp):\/\/|www\.)[^\s<>"«»]+/giu;
const URL_TRAILING = /[.,;:!?)\]'"’”»]+$/u;
const FENCE = /^\s*(`{3,}|~{3,})/;
const HEADING = /^\s{0,3}#{1,6}\s+/;
const RULE = /^\s*([-*_])(?:\s*\1){2,}\s*$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const BULLET = /^\s*(?:[-*+•◦▪‣]\s+)+(?:\[[ xX]\]\s+)?/;
const QUOTE = /^\s*(?:>\s?)+/;
const TERMINAL = /[.!?…:;,]$/u;

/** The speech language of a text: the one language detector's, as voice selection uses it. */
export const detectSpeechLanguage = speechLanguageOf;

/**
 * The text the TTS should read for `display` (a sentence, or any Markdown reply).
 * `language` picks the words put in ("link" / "ссылка"); by default it follows the script.
 */
export function toSpeechText(
  display: string,
  language: SpeechLanguage = detectSpeechLanguage(display),
): string {
  let text = decodeEntities(display.replace(/\r\n?/g, '\n'));
  text = stripBlocks(text);
  text = stripInline(text, language);
  text = text.replace(EMOJI, '');
  text = language === 'ru' ? expandRussian(text) : expandEnglish(text);
  text = tidy(text);
  if (!/[\p{L}\p{N}]/u.test(text)) return '';
  // A spelled-out abbreviation ("и т.д.", "в 1812 г.") takes the sentence's stop with it.
  const ended = /[.!?…]["'”’»)\]*_]*\s*$/u;
  return ended.test(display) && !ended.test(text) ? `${text}.` : text;
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  mdash: '—',
  ndash: '–',
  hellip: '…',
};

/** The few HTML entities a model writes; numeric ones too (an emoji written so is still removed). */
function decodeEntities(text: string): string {
  return text.replace(/&(?:([a-z]+)|#(\d{1,7}));/g, (entity, name?: string, code?: string) => {
    if (name !== undefined) return ENTITIES[name] ?? entity;
    const point = Number(code);
    return point <= 0x10ffff ? String.fromCodePoint(point) : '';
  });
}

/** Line-level Markdown: code blocks, headings, quotes, bullets, rules, tables; lines joined with a pause. */
function stripBlocks(text: string): string {
  // `item`: a heading, list item, quote or table row, which never continues the line before it.
  const lines: { text: string; heading: boolean; item: boolean }[] = [];
  let fence = '';
  for (const raw of text.split('\n')) {
    const fenceMark = FENCE.exec(raw)?.[1];
    if (fence !== '') {
      if (fenceMark !== undefined && fenceMark[0] === fence[0] && fenceMark.length >= fence.length) fence = '';
      continue;
    }
    if (fenceMark !== undefined) {
      fence = fenceMark;
      continue;
    }
    if (RULE.test(raw) || TABLE_SEPARATOR.test(raw)) continue;
    const heading = HEADING.test(raw);
    const item = heading || QUOTE.test(raw) || BULLET.test(raw) || /^\s*(?:\d{1,3}[.)]\s|\|)/.test(raw);
    let line = raw.replace(HEADING, '').replace(/\s+#+\s*$/, '').replace(QUOTE, '').replace(BULLET, '');
    if (/^\s*\|.*\|\s*$/.test(line)) {
      line = line
        .split('|')
        .map((cell) => cell.trim())
        .filter((cell) => cell !== '')
        .join(', ');
    }
    line = line.trim();
    if (line !== '') lines.push({ text: line, heading, item });
  }
  // A heading or list item has no stop of its own; without one eSpeak runs it into the next line.
  return lines
    .map((line, i) => {
      const next = lines[i + 1];
      if (next === undefined || TERMINAL.test(line.text)) return line.text;
      if (!line.item && !next.item && /^\p{Ll}/u.test(next.text)) return line.text;
      return line.text + (line.heading ? '.' : ',');
    })
    .join(' ');
}

/** Inline Markdown, HTML tags, URLs and the symbols that only mark formatting. */
function stripInline(text: string, language: SpeechLanguage): string {
  const words = WORDS[language];
  return text
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]+)\]\(\s*<?[^)\s>]*>?(?:\s+"[^"]*")?\s*\)/g, '$1')
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
    .replace(/<(?:(?:https?|ftp):\/\/|mailto:)[^>\s]+>/gi, words.link)
    .replace(URL, (url) => words.link + (URL_TRAILING.exec(url)?.[0] ?? ''))
    .replace(/<\/?[a-z][a-z0-9-]*(?:\s[^<>]*)?\/?>/gi, ' ')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+\-.!|~>])/g, '$1')
    .replace(/(\d)\s*\*\s*(\d)/g, `$1 ${words.times} $2`)
    .replace(/[~≈]\s?(?=[+-]?\d)/g, `${words.about} `)
    .replace(/[*~`|]/g, ' ')
    .replace(/(?<![\p{L}\p{N}])_+|_+(?![\p{L}\p{N}])/gu, ' ')
    .replace(/\s*[→⇒⟶➜➔←⇐⟵]\s*/g, ' — ')
    .replace(/\s[•·]\s/g, ', ');
}

/** Russian plural form for an amount as written ("1", "22", "2,5"). */
function ruForm(amount: string, forms: Forms): string {
  if (/[.,]\d/.test(amount)) return forms[1];
  const digits = amount.replace(/\D/g, '');
  const n10 = Number(digits.slice(-1));
  const n100 = Number(digits.slice(-2));
  if (n10 === 1 && n100 !== 11) return forms[0];
  if (n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14)) return forms[1];
  return forms[2];
}

const enForm = (amount: string, [one, many]: readonly [string, string]): string =>
  /^[+-]?1$/.test(amount) ? one : many;

/** "1 000 000" → "1000000": eSpeak reads space-grouped digits one group at a time. */
function joinThousands(text: string, spaces: string): string {
  const grouped = new RegExp(String.raw`(?<![\d.,+])(\d{1,3})((?:[${spaces}]\d{3})+)(?![${spaces}-]?\d)`, 'gu');
  return text.replace(grouped, (_, head: string, rest: string) => head + rest.replace(/\D/g, ''));
}

const CURRENCY_BEFORE = (scale: string): RegExp => new RegExp(String.raw`([$€£₽])\s?(${NUM})${scale}`, 'giu');
const CURRENCY_AFTER = (scale: string, unit: string): RegExp =>
  new RegExp(String.raw`(${NUM})${scale}\s?${unit}`, 'giu');
const DEGREES = new RegExp(String.raw`(${NUM})\s?(?:°\s?([CF])(?![\p{L}])|(℃)|(℉)|°)`, 'gu');
const PERCENT = new RegExp(String.raw`(${NUM})\s?%`, 'gu');
// A range "5-10" or "5 – 10"; "5 - 3" with spaces is more likely a subtraction, and dates and
// phone numbers have two dashes.
const RANGE = /(?<![\d.,:/-])(\d+(?:\.\d+)?)(?:-|\s?[–—]\s?)(\d+(?:\.\d+)?)(?![\d:/]|[.,–—-]\d)/g;

/** Which temperature scale a DEGREES match names, if any. */
function degreeScale(letter?: string, celsius?: string, fahrenheit?: string): 'C' | 'F' | '' {
  if (letter === 'C' || celsius !== undefined) return 'C';
  return letter === 'F' || fahrenheit !== undefined ? 'F' : '';
}

function expandEnglish(text: string): string {
  let out = joinThousands(text.replace(/\u2212/g, '-'), String.raw`\u00a0\u202f\u2009`);
  for (const [pattern, replacement] of EN_ABBREVIATIONS) out = out.replace(pattern, replacement);
  // "$5 million", "$5M", "$5k"; the scale must end the word ("$5 millionaires" has none).
  const scale = String.raw`(\s(?:thousand|million|billion|trillion)|k|m|bn)?(?![\p{L}\p{N}])`;
  const money = (symbol: string, amount: string, s: string | undefined): string => {
    if (s === undefined) return `${amount} ${enForm(amount, CURRENCY_EN[symbol])}`;
    return `${amount} ${SCALE_EN[s.trim().toLowerCase()]} ${CURRENCY_EN[symbol][1]}`;
  };
  const names = { C: ' Celsius', F: ' Fahrenheit', '': '' };
  return expandCommon(
    out
      .replace(CURRENCY_BEFORE(scale), (_, sym: string, n: string, s?: string) => money(sym, n, s))
      .replace(CURRENCY_AFTER(scale, '([$€£₽])'), (_, n: string, s: string | undefined, sym: string) => money(sym, n, s))
      .replace(DEGREES, (_, n: string, letter?: string, c?: string, f?: string) => {
        return `${n} ${enForm(n, ['degree', 'degrees'])}${names[degreeScale(letter, c, f)]}`;
      })
      .replace(RANGE, '$1 to $2'),
    'en',
  );
}

function expandRussian(text: string): string {
  let out = joinThousands(text.replace(/\u2212/g, '-'), String.raw` \u00a0\u202f\u2009`);
  for (const [pattern, replacement] of RU_ABBREVIATIONS) out = out.replace(pattern, replacement);
  const scale = String.raw`(?:\s?(тыс|млн|млрд)\.?)?`;
  const money = (n: string, s: string | undefined, forms: Forms): string =>
    s === undefined ? `${n} ${ruForm(n, forms)}` : `${n} ${ruForm(n, SCALE_RU[s])} ${forms[2]}`;
  const unitForms = (sym: string | undefined, word: string | undefined): Forms =>
    sym !== undefined ? CURRENCY_RU[sym] : word === 'коп' ? KOPECKS : CURRENCY_RU['₽'];
  const names = { C: ' Цельсия', F: ' по Фаренгейту', '': '' };
  return expandCommon(
    out
      .replace(CURRENCY_BEFORE(scale), (_, sym: string, n: string, s?: string) => money(n, s, CURRENCY_RU[sym]))
      .replace(CURRENCY_AFTER(scale, String.raw`(?:([$€£₽])|(руб|коп)\.?(?![\p{L}]))`), (_, n, s, sym, word) =>
        money(n as string, s as string | undefined, unitForms(sym as string | undefined, word as string | undefined)),
      )
      .replace(SCALE_AFTER_NUMBER, (_, n: string, s: string) => `${n} ${ruForm(n, SCALE_RU[s])}`)
      .replace(PERCENT, (_, n: string) => `${n} ${ruForm(n, PERCENTS)}`)
      .replace(DEGREES, (_, n: string, letter?: string, c?: string, f?: string) => {
        return `${n} ${ruForm(n, DEGREE_FORMS)}${names[degreeScale(letter, c, f)]}`;
      })
      .replace(/(^|[^\p{L}])([Вв]) (\d{3,4}) г\.(?=$|[\s,;:!?)»])/gu, '$1$2 $3 году')
      .replace(/(\d{3,4}) г\.(?=$|[\s,;:!?)»])/gu, '$1 года'),
    'ru',
  );
}

function expandCommon(text: string, language: SpeechLanguage): string {
  const w = WORDS[language];
  return text
    .replace(/\b([CF])#/g, language === 'ru' ? '$1 шарп' : '$1 sharp')
    .replace(/#(?=\d)/g, `${w.number} `)
    .replace(/#(?=\p{L})/gu, '')
    .replace(/\s*&\s*/g, ` ${w.and} `);
}

/** One line, no space before punctuation, no brackets left empty by what was removed. */
function tidy(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\(\s*\)|\[\s*\]|«\s*»/g, '')
    .replace(/\s+([,.;:!?…)\]»])/g, '$1')
    .replace(/([([«])\s+/g, '$1')
    .replace(/([,;:])(?:\s*[,;:])+/g, '$1')
    .replace(/^(?:[\s,;:.—–]|-(?!\d))+/, '')
    .trim();
}
