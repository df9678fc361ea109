/**
 * Cutting a long text into pieces an engine synthesizes in one blocking call. Short texts (the
 * pipeline's single sentences) stay whole, so their prosody is untouched; long ones are cut at
 * sentence ends, then at spaces, so that an interrupt is honoured between calls and the event
 * loop is never held for long.
 */

const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });

/** Whole sentences, in order, each with its trailing space. */
function sentencesOf(text: string): string[] {
  return Array.from(sentenceSegmenter.segment(text), (s) => s.segment);
}

/** Trailing spaces are trimmed off every piece, so they do not count. */
function fits(piece: string, maxChars: number): boolean {
  return piece.trimEnd().length <= maxChars;
}

/**
 * Greedy packing: units joined while they fit in `maxChars`; a unit too long on its own is `cut`,
 * and its last part goes on collecting the units after it.
 */
function pack(units: readonly string[], maxChars: number, cut: (unit: string) => string[]): string[] {
  const out: string[] = [];
  let current = '';
  for (const unit of units) {
    if (fits(current + unit, maxChars)) {
      current += unit;
      continue;
    }
    if (current !== '') out.push(current);
    current = '';
    if (fits(unit, maxChars)) {
      current = unit;
      continue;
    }
    const parts = cut(unit);
    current = parts.pop() ?? '';
    out.push(...parts);
  }
  if (current !== '') out.push(current);
  return out;
}

/** A word longer than `maxChars`, cut by code points. */
function cutCodePoints(word: string, maxChars: number): string[] {
  const parts: string[] = [];
  let part = '';
  for (const char of word) {
    if (part.length + char.length > maxChars) {
      parts.push(part);
      part = '';
    }
    part += char;
  }
  parts.push(part);
  return parts;
}

/** Cuts a piece longer than `maxChars` at spaces; a single longer word is cut by code points. */
function cutAtSpaces(piece: string, maxChars: number): string[] {
  return pack(piece.split(/(?<=\s)/u), maxChars, (word) => cutCodePoints(word, maxChars));
}

/**
 * The text in pieces of at most `maxChars` UTF-16 units (whole sentences merged while they fit),
 * trimmed, blank pieces dropped. `maxChars` undefined: the whole text as one piece.
 */
export function splitForSynthesis(text: string, maxChars?: number): string[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (maxChars === undefined || trimmed.length <= maxChars) return [trimmed];
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`maxChars must be a positive integer, got ${maxChars}`);
  const pieces = pack(sentencesOf(trimmed), maxChars, (sentence) => cutAtSpaces(sentence, maxChars));
  return pieces.map((p) => p.trim()).filter((p) => p !== '');
}
