/**
 * Cuts a streamed LLM reply into sentences for TTS, one token at a time.
 *
 * Why a hand-written scanner rather than `Intl.Segmenter`: ICU's sentence rules (UAX #29) cut
 * after every "period + space + capital" and know no Russian abbreviations, so they split
 * "Dr. Smith", "г. Москва", "А. С. Пушкин" and "т.е. это". On the table in `test/cases/sentence-cases.ts`
 * they get 77 % of the cases right (every hard one wrong), this scanner 100 %. The scanner decides
 * a stop from the token before it (abbreviation lists for English and Russian, initials, list
 * numbers, units after numbers) and the first non-space character after it. Like pipecat's
 * aggregator it needs at most that one character of look-ahead, so a sentence comes out as soon
 * as the next word starts. No npm package fits better: `sbd` and `sentence-splitter` work on whole
 * text and know no Russian.
 *
 * The rules, in the order they matter:
 * - A stop (`. ! ? …`, runs like `?!`, `...`) ends a sentence only when followed by whitespace
 *   (so `$29.95`, `v2.0.1`, `example.com`, `e.g.,` never cut) and the next word does not start
 *   with a lowercase letter (`Hmm... let me`, `etc. are`, `г. в Москве` stay whole). Closing
 *   quotes, brackets and Markdown emphasis right after the stop stay with the sentence, and so do
 *   emoji after it (`Done! 🎉`).
 * - CJK stops `。！？` end a sentence without a following space.
 * - A blank line always ends a sentence; a single newline does too unless the next line starts
 *   with a lowercase letter (a wrapped line), so list items and headings come out one by one.
 * - A fenced code block (```` ``` ```` / `~~~`) is one segment, so the speech stage sees it whole.
 * - The first segment of a reply may end early at a clause boundary (`, ; : — –`) once it holds
 *   `firstFragmentMinChars`; any segment longer than the limit is cut at the last clause boundary
 *   (if it leaves at least half the limit), else the last space, else hard.
 * Text inside a segment is passed on as displayed (only trimmed): the same strings feed the
 * client's `text_chunk` and, through `toSpeechText`, the TTS.
 */

import type { Config } from '../config/schema.js';
import { clauseCut, isSpace } from '../text-processing/clause-marks.js';

/** Limits from the `pipeline` config section, in UTF-16 code units (`String#length`). */
export interface SentenceSplitterOptions {
  /** The first segment of a reply may end at a clause boundary once this long; `Infinity`: never early. */
  readonly firstFragmentMinChars: number;
  /** A first segment still open at this length is cut like an overlong sentence; absent: no extra limit. */
  readonly firstFragmentMaxChars?: number;
  /** A segment longer than this is cut at the last clause boundary or space before the limit. */
  readonly maxSentenceChars: number;
}

/** The splitter's options from the `pipeline` config section. */
export function sentenceSplitterOptions(
  pipeline: Pick<Config['pipeline'], 'first_fragment_min_chars' | 'first_fragment_max_chars' | 'max_sentence_chars'>,
): SentenceSplitterOptions {
  return {
    firstFragmentMinChars: pipeline.first_fragment_min_chars,
    firstFragmentMaxChars: pipeline.first_fragment_max_chars,
    maxSentenceChars: pipeline.max_sentence_chars,
  };
}

const WAIT = -1;
const STOPS = new Set(['.', '!', '?', '…', '‼', '⁇', '⁈', '⁉', '。', '！', '？', '｡']);
const CJK_STOPS = new Set(['。', '！', '？', '｡']);
// Markdown emphasis counts as a closer: "**Note.** Then" ends after the asterisks.
const CLOSERS = new Set(['"', "'", '”', '’', '»', '›', ')', ']', '}', '」', '』', '）', '】', '〉', '》', '*', '_', '`', '~']);
const OPENERS = new Set(['"', "'", '“', '„', '‘', '«', '‹', '(', '[', '{', '*', '_', '`', '¿', '¡']);

// Keys are lowercase, without the final dot; `т. е.` is looked up as `т.е`.
/** Abbreviations that never end a sentence: titles, "e.g.", Russian "т.е.", street and language names. */
const CONTINUING = new Set([
  'mr', 'mrs', 'ms', 'mx', 'dr', 'prof', 'st', 'mt', 'gen', 'gov', 'sen', 'rep', 'rev', 'hon', 'capt',
  'col', 'lt', 'sgt', 'cmdr', 'adm', 'maj', 'pres', 'supt', 'messrs', 'e.g', 'i.e', 'cf', 'vs', 'viz',
  'approx', 'appx', 'incl', 'excl', 'esp', 'dept', 'univ', 'assn', 'bros', 'ca', 'a.k.a', 'n.b',
  'т.е', 'т.к', 'т.н', 'т.ч', 'т.о', 'и.о', 'напр', 'ул', 'просп', 'пр-т', 'пер', 'пл', 'наб', 'бул',
  'обл', 'р-н', 'им', 'акад', 'проф', 'доц', 'тов', 'гр', 'св', 'ген', 'кв', 'корп', 'см', 'ср',
  'англ', 'рус', 'лат', 'нем', 'фр', 'франц', 'греч', 'итал', 'исп', 'кит', 'яп', 'араб', 'букв',
  'зам', 'нач', 'ред', 'изд', 'сокр', 'устар', 'разг', 'перен', 'мн', 'ед', 'ст', 'пос', 'дер', 'эл',
]);
/** Abbreviations before a number ("No. 5", "стр. 15", "Sept. 21"): they continue only before a digit. */
const BEFORE_NUMBER = new Set([
  'no', 'nos', 'vol', 'fig', 'figs', 'pp', 'ch', 'chap', 'sec', 'sect', 'art', 'eq', 'eqs', 'ex',
  'ref', 'tel', 'ext', 'ver', 'op', 'est', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep',
  'sept', 'oct', 'nov', 'dec', 'стр', 'рис', 'табл', 'гл', 'ок', 'прим', 'тел', 'янв', 'февр', 'апр',
  'авг', 'сент', 'окт', 'нояб', 'дек',
]);
/**
 * One-letter abbreviations: any Cyrillic lowercase letter but the pronoun "я" ("Это я."), and
 * only the usual Latin ones (p., c., v., b., d., f.), since "solve for x." ends a sentence.
 */
const SINGLE_LETTER_ABBREVIATION = /^[а-юёpcvbdf]$/;
/** Units that end a sentence after a number ("5 см. Высота") but mean something else elsewhere ("см. выше"). */
const AFTER_NUMBER = new Set(['см', 'ст']);
/** Forms that look like initials or one-letter abbreviations but end sentences ("и т. д.", "U.S."). */
const ENDING = new Set(['т.д', 'т.п', 'u.s', 'u.k', 'u.n', 'e.u', 'u.s.a', 'u.s.s.r', 'd.c', 'a.d', 'b.c']);

const isLower = (c: string): boolean => /\p{Ll}/u.test(c);
const isUpper = (c: string): boolean => /\p{Lu}/u.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isPictograph = (c: string): boolean => /[\p{Extended_Pictographic}\p{Regional_Indicator}]/u.test(c);
const isEmojiPart = (c: string): boolean => /[\u200d\ufe0f\u20e3\u{1f3fb}-\u{1f3ff}]/u.test(c);
const charAt = (text: string, i: number): string => String.fromCodePoint(text.codePointAt(i) ?? 0);
/** A high surrogate at the very end: the rest of the code point is still on its way. */
const isCutShort = (text: string, i: number): boolean => i === text.length - 1 && /[\ud800-\udbff]/.test(text[i]);
const isNumberToken = (t: string): boolean => /^\d[\d.,]*(?:-\p{L}+)?$/u.test(t) || /^[IVXLCDM]+$/.test(t);

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text[i])) i++;
  return i;
}

function skipBack(text: string, from: number, i: number): number {
  while (i > from && isSpace(text[i - 1])) i--;
  return i;
}

/** Whether only spaces or tabs lie between the previous newline (or the text's start) and `i`. */
function atLineStart(text: string, i: number, textStartsLine: boolean): boolean {
  let j = i - 1;
  while (j >= 0 && (text[j] === ' ' || text[j] === '\t')) j--;
  return j < 0 ? textStartsLine : text[j] === '\n';
}

function fenceMarkerAt(text: string, i: number): string {
  return text.startsWith('```', i) ? '```' : text.startsWith('~~~', i) ? '~~~' : '';
}

/** The whitespace-separated token that ends at `end`, and where it starts. */
function tokenBefore(text: string, from: number, end: number): { token: string; start: number } {
  let t = end;
  while (t > from && !isSpace(text[t - 1])) t--;
  return { token: text.slice(t, end), start: t };
}

/**
 * Whether a single `.` ends the sentence, from the token before it and the next character.
 * `next` is never lowercase here.
 */
function periodEnds(text: string, segStart: number, stop: number, next: string): boolean {
  let { token: raw, start: t } = tokenBefore(text, segStart, stop);
  while (raw.length > 0 && OPENERS.has(raw[0])) {
    raw = raw.slice(1);
    t++;
  }
  if (raw === '') return true;
  const prev = tokenBefore(text, segStart, skipBack(text, segStart, t)).token;
  const key = raw.toLowerCase();
  const singleLetter = /^\p{L}$/u.test(raw);
  const spacedKey = singleLetter && /^\p{L}\.$/u.test(prev) ? `${prev[0]}.${raw}`.toLowerCase() : '';
  for (const k of [spacedKey, key]) {
    if (k === '') continue;
    if (ENDING.has(k)) return true;
    if (AFTER_NUMBER.has(k) && isNumberToken(prev)) return true;
    if (CONTINUING.has(k)) return false;
    if (BEFORE_NUMBER.has(k)) return !isDigit(next);
  }
  // One lowercase letter is an abbreviation (г., д., с., p.) unless it is a unit after a number:
  // "в 1799 г. Потом" ends, "г. Москва" does not.
  if (SINGLE_LETTER_ABBREVIATION.test(raw)) return isNumberToken(prev);
  // Initials: "А. С. Пушкин", "А.С. Пушкин", "J. R. R. Tolkien"; but "plan B. We" ends.
  if (/^\p{Lu}(?:\.\p{Lu})*$/u.test(raw) && isUpper(next)) return singleLetter && /^\p{Ll}/u.test(prev);
  // A list number at the start of a segment ("1. Open Settings") or after "Steps: 1.".
  if (/^\d{1,2}$/.test(raw) && (t === segStart || (raw === '1' && prev.endsWith(':')))) return false;
  return true;
}

interface ScanState {
  readonly final: boolean;
  /**
   * Where the previous scan of this same segment stopped deciding (its `resume`): everything
   * before was decided then and does not depend on text that arrived since.
   */
  readonly from: number;
  readonly firstSegment: boolean;
  readonly firstFragmentMinChars: number;
  /** The fence marker when the text begins inside a code block cut by the length limit. */
  readonly fence: string;
  readonly textStartsLine: boolean;
}

interface ScanResult {
  /** Exclusive end of the next segment, or WAIT when more text is needed to decide. */
  readonly cut: number;
  /** The fence marker when the segment is (part of) a code block. */
  readonly fence: string;
  /** On WAIT: the first position whose decision needs more text; the next scan starts there. */
  readonly resume: number;
}

/**
 * The end of a code-block segment: the end of its closing fence line. A block cut by the length
 * limit continues in the next segment (`continued`), where the closing line may come first.
 */
function scanFence(text: string, start: number, marker: string, continued: boolean, final: boolean): number {
  let line = start;
  if (!continued) {
    const eol = text.indexOf('\n', start);
    if (eol < 0) return final ? text.length : WAIT;
    line = eol + 1;
  }
  for (;;) {
    let j = line;
    while (text[j] === ' ' || text[j] === '\t') j++;
    if (text.startsWith(marker, j)) {
      const eol = text.indexOf('\n', j);
      return eol >= 0 ? eol : final ? text.length : WAIT;
    }
    const nl = text.indexOf('\n', line);
    if (nl < 0) return final ? text.length : WAIT;
    line = nl + 1;
  }
}

/**
 * Finds the end of the first segment of `text` (which may start with whitespace). A scan that
 * waits for more text says where the next one may start, so a segment streamed in many small
 * tokens is scanned once, not once per token.
 */
function scan(text: string, state: ScanState): ScanResult {
  const n = text.length;
  const start = skipSpace(text, 0);
  if (start === n) return { cut: WAIT, fence: '', resume: 0 };
  if (state.fence !== '') {
    return { cut: scanFence(text, start, state.fence, true, state.final), fence: state.fence, resume: 0 };
  }
  const marker = atLineStart(text, start, state.textStartsLine) ? fenceMarkerAt(text, start) : '';
  if (marker !== '') return { cut: scanFence(text, start, marker, false, state.final), fence: marker, resume: 0 };

  // A decision at `i` that waits for what follows: the next scan starts again at `i`.
  const decided = (cut: number, i: number = start): ScanResult => ({ cut, fence: '', resume: cut === WAIT ? i : 0 });
  for (let i = Math.max(start, state.from); i < n; ) {
    const c = text[i];
    if (c === '\n') {
      let j = i;
      let newlines = 0;
      for (; j < n && isSpace(text[j]); j++) if (text[j] === '\n') newlines++;
      if (newlines >= 2) return decided(i);
      if (j === n || isCutShort(text, j)) return decided(state.final ? i : WAIT, i);
      if (!isLower(charAt(text, j))) return decided(i);
      i = j;
      continue;
    }
    if (STOPS.has(c)) {
      let j = i;
      let cjk = false;
      for (; j < n && STOPS.has(text[j]); j++) if (CJK_STOPS.has(text[j])) cjk = true;
      let k = j;
      while (k < n && CLOSERS.has(text[k])) k++;
      if (k === n) return decided(state.final ? k : WAIT, i);
      if (cjk) return decided(k);
      if (!isSpace(text[k])) {
        i = k;
        continue;
      }
      // Emoji after the stop belong to this sentence ("Done! 🎉 Next…").
      let end = k;
      let p = k;
      let newlines = 0;
      for (;;) {
        for (; p < n && isSpace(text[p]); p++) if (text[p] === '\n') newlines++;
        if (p >= n || newlines > 0 || !isPictograph(charAt(text, p))) break;
        while (p < n && (isPictograph(charAt(text, p)) || isEmojiPart(charAt(text, p)))) {
          p += charAt(text, p).length;
        }
        end = p;
      }
      if (newlines >= 2) return decided(end);
      if (p === n || isCutShort(text, p)) return decided(state.final ? end : WAIT, i);
      const next = charAt(text, p);
      if (isLower(next)) {
        i = p;
        continue;
      }
      if (newlines > 0 || text.slice(i, j) !== '.' || periodEnds(text, start, i, next)) return decided(end);
      i = p;
      continue;
    }
    if (state.firstSegment && i + 1 - start >= state.firstFragmentMinChars) {
      const cut = clauseCut(text, i);
      if (cut !== -1) return decided(cut);
    }
    i += 1;
  }
  // Only the last character's decision looks past the text: a clause mark there may still be "1,000".
  return decided(state.final ? n : WAIT, Math.max(start, n - 1));
}

/** `text.slice(0, end).trim().length`, without the copies. */
function trimmedLength(text: string, end: number): number {
  const start = skipSpace(text, 0);
  return start >= end ? 0 : skipBack(text, start, end) - start;
}

/** Where to cut a segment over `limit`: last clause boundary (if not too early), else last space, else hard. */
function limitCut(text: string, limit: number, fence: string): number {
  const start = skipSpace(text, 0);
  let hard = Math.min(text.length, start + limit);
  if (/[\ud800-\udbff]/.test(text[hard - 1] ?? '') && hard - 1 > start) hard--;
  if (fence !== '') {
    const nl = text.lastIndexOf('\n', hard - 1);
    if (nl > start) return nl;
  }
  for (let i = hard - 1; i > start && i - start >= limit / 2; i--) {
    const cut = clauseCut(text, i);
    if (cut > 0 && cut <= hard) return cut;
  }
  for (let i = hard; i > start; i--) if (isSpace(text[i])) return i;
  return hard;
}

/**
 * Streaming sentence splitter: feed LLM text with {@link push}, get finished sentences back.
 * Pure and synchronous; one instance per reply (or {@link reset} between replies).
 */
export class SentenceSplitter {
  readonly #options: SentenceSplitterOptions;
  #pending = '';
  /** Where the next scan of `#pending` starts (see `ScanState.from`). */
  #resume = 0;
  #emitted = 0;
  #fence = '';
  #startsLine = true;

  constructor(options: SentenceSplitterOptions) {
    const { firstFragmentMinChars, firstFragmentMaxChars, maxSentenceChars } = options;
    if (!(firstFragmentMinChars >= 0)) throw new RangeError('firstFragmentMinChars must be >= 0');
    if (!(maxSentenceChars >= 1)) throw new RangeError('maxSentenceChars must be >= 1');
    if (firstFragmentMaxChars !== undefined && !(firstFragmentMaxChars >= 1)) {
      throw new RangeError('firstFragmentMaxChars must be >= 1');
    }
    this.#options = options;
  }

  /** Adds a piece of the reply; returns the segments it completed, in order (often none). */
  push(text: string): string[] {
    this.#pending += text;
    return this.#drain(false);
  }

  /** Ends the reply: returns everything still held, then starts afresh for the next reply. */
  flush(): string[] {
    const out = this.#drain(true);
    this.reset();
    return out;
  }

  /**
   * Ends the sentence in progress without ending the reply (an assistant action falls here): what
   * is held comes out now, and the next segment is a whole sentence, not a new first fragment.
   */
  cut(): string[] {
    const out = this.#drain(true);
    const emitted = this.#emitted;
    this.reset();
    this.#emitted = emitted;
    return out;
  }

  /** Drops everything held (after an interrupt); the next push starts a new reply. */
  reset(): void {
    this.#pending = '';
    this.#resume = 0;
    this.#emitted = 0;
    this.#fence = '';
    this.#startsLine = true;
  }

  #drain(final: boolean): string[] {
    const out: string[] = [];
    for (;;) {
      const text = this.#pending;
      const first = this.#emitted === 0;
      const result = scan(text, {
        final,
        from: this.#resume,
        firstSegment: first,
        firstFragmentMinChars: this.#options.firstFragmentMinChars,
        fence: this.#fence,
        textStartsLine: this.#startsLine,
      });
      const firstMax = first ? (this.#options.firstFragmentMaxChars ?? Infinity) : Infinity;
      const limit = Math.min(this.#options.maxSentenceChars, firstMax);
      const end = result.cut === WAIT ? text.length : result.cut;
      let cut: number;
      // Every cut lies past the segment's first non-space character, so each round makes progress.
      if (trimmedLength(text, end) > limit) {
        cut = limitCut(text, limit, result.fence);
        this.#fence = result.fence;
      } else if (result.cut !== WAIT) {
        cut = result.cut;
        this.#fence = '';
      } else {
        this.#resume = result.resume;
        break;
      }
      this.#resume = 0;
      const segment = text.slice(0, cut).trim();
      this.#pending = text.slice(cut);
      if (cut > 0) this.#startsLine = text[cut - 1] === '\n';
      if (segment !== '') {
        out.push(segment);
        this.#emitted++;
      }
    }
    if (final) this.#pending = '';
    return out;
  }
}
