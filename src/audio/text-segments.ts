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

/** Cuts a piece longer than `maxChars` at spaces; a single longer word is cut by code points. */
function cutAtSpaces(piece: string, maxChars: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of piece.split(/(?<=\s)/u)) {
    if (fits(current + word, maxChars)) {
      current += word;
      continue;
    }
    if (current !== '') out.push(current);
    current = '';
    if (fits(word, maxChars)) {
      current = word;
      continue;
    }
    const chars = Array.from(word);
    let part = '';
    for (const char of chars) {
      if (part.length + char.length > maxChars) {
        out.push(part);
        part = '';
      }
      part += char;
    }
    current = part;
  }
  if (current !== '') out.push(current);
  return out;
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
  const pieces: string[] = [];
  let current = '';
  for (const sentence of sentencesOf(trimmed)) {
    if (fits(current + sentence, maxChars)) {
      current += sentence;
      continue;
    }
    if (current !== '') pieces.push(current);
    current = '';
    if (fits(sentence, maxChars)) {
      current = sentence;
      continue;
    }
    const parts = cutAtSpaces(sentence, maxChars);
    current = parts.pop() ?? '';
    pieces.push(...parts);
  }
  if (current !== '') pieces.push(current);
  return pieces.map((p) => p.trim()).filter((p) => p !== '');
}
