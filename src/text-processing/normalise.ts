/**
 * Prompt normalisation: the first step of text_processing, before the prompt reaches the model.
 * Pure, so that the collect/commit path, tests and benchmarks all see the same text.
 */

/**
 * When the last space before the limit would throw away more than this share of the allowed
 * length, a mid-word cut loses less of what the user said than a word-boundary cut does.
 */
const MIN_KEPT_SHARE_AT_WORD_BOUNDARY = 0.5;

// Newline, carriage return and tab separate words, so they become spaces; every other C0/C1
// control character is noise from the speech recogniser or a paste and is dropped.
const SEPARATING_CONTROLS = /[\t\n\v\f\r\u0085]/gu;
const OTHER_CONTROLS = /\p{Cc}/gu;
const WHITESPACE_RUN = /\s+/gu;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Normalises a user prompt: Unicode NFC, control characters stripped (line breaks and tabs
 * become spaces), runs of whitespace collapsed to one space, trimmed, then cut to at most
 * `maxChars` UTF-16 code units — at the last word boundary when that keeps at least half of the
 * allowed length, otherwise at the last whole grapheme (never inside a surrogate pair or an
 * emoji sequence).
 */
export function normalisePrompt(text: string, maxChars: number): string {
  const clean = text
    .normalize('NFC')
    .replace(SEPARATING_CONTROLS, ' ')
    .replace(OTHER_CONTROLS, '')
    .replace(WHITESPACE_RUN, ' ')
    .trim();
  if (clean.length <= maxChars) return clean;
  if (maxChars <= 0) return '';
  return cutAtBoundary(clean, maxChars);
}

function cutAtBoundary(text: string, maxChars: number): string {
  // `text` has no whitespace runs, so the character just past the limit being a space means the
  // prefix already ends on a whole word.
  if (text[maxChars] === ' ') return text.slice(0, maxChars).trimEnd();
  const lastSpace = text.lastIndexOf(' ', maxChars - 1);
  if (lastSpace >= maxChars * MIN_KEPT_SHARE_AT_WORD_BOUNDARY) return text.slice(0, lastSpace);
  let end = 0;
  for (const { index, segment } of graphemes.segment(text)) {
    if (index + segment.length > maxChars) break;
    end = index + segment.length;
  }
  return text.slice(0, end).trimEnd();
}
