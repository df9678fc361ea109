/**
 * Clause boundaries: where a speaker pauses inside a sentence (`, ; :`, a spaced dash, CJK
 * commas). The sentence splitter cuts a reply's first segment there; the speech pool
 * synthesizes a long segment clause by clause (src/audio/synthesis-pool.ts). eSpeak itself
 * speaks a sentence clause by clause, so a clause said on its own keeps its intonation.
 */

const CLAUSE_MARKS = new Set([',', ';', ':']);
const CJK_CLAUSE_MARKS = new Set(['，', '；', '：', '、']);
const DASHES = new Set(['—', '–', '-']);

/** `\s` (what `trim` removes); ASCII without a regex, since scanners ask for every character. */
export const isSpace = (c: string | undefined): boolean => {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return /\s/.test(c);
};

/**
 * Where a clause boundary at `i` cuts (just after the mark), or -1. A mark at the very end of the
 * text is not a boundary yet: "1," may go on as "1,000".
 */
export function clauseCut(text: string, i: number): number {
  const c = text[i];
  if (CJK_CLAUSE_MARKS.has(c!)) return i + 1;
  const isClause = CLAUSE_MARKS.has(c!) || (DASHES.has(c!) && isSpace(text[i - 1]));
  return isClause && isSpace(text[i + 1]) ? i + 1 : -1;
}

/**
 * The text cut at its clause boundaries into parts of at least `minChars` (trimmed) each: a
 * shorter clause goes with the one after it, a short last clause with the one before. Parts are
 * trimmed (only the spaces at the cuts are lost). `minChars` 0 or less: the text whole.
 */
export function clauseParts(text: string, minChars: number): string[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (minChars <= 0 || trimmed.length < 2 * minChars) return [trimmed];
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < trimmed.length; i++) {
    const cut = clauseCut(trimmed, i);
    if (cut < 0) continue;
    if (trimmed.slice(start, cut).trim().length < minChars || trimmed.slice(cut).trim().length < minChars) continue;
    parts.push(trimmed.slice(start, cut).trim());
    start = cut;
  }
  parts.push(trimmed.slice(start).trim());
  return parts;
}
