/**
 * The COLLECT/COMMIT text merge rule (docs/PROTOCOL.md, "StreamAudio flow"), word-wise and case-insensitive. It serves
 * both kinds of speech engines: those that send each recognised segment as a delta and those that
 * send growing snapshots of the whole utterance.
 *
 * Words are compared case-insensitively and without punctuation at their edges, so a final
 * snapshot that only adds a question mark ("what time is it?") still counts as the same words.
 */

/** A word of speech as the merge rule compares it. */
export interface SpeechWord {
  readonly key: string;
  /** Index of the word's first character in the source string. */
  readonly start: number;
  /** Index just past the word in the source string. */
  readonly end: number;
}

const WORD = /\S+/gu;
const EDGE_PUNCTUATION = /^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu;

/**
 * The words of `text` with their comparison keys. Exported for the Redis backend, whose script
 * applies the same rule to keys computed here (src/sessions/redis-collect-store.ts).
 */
export function speechWords(text: string): SpeechWord[] {
  const out: SpeechWord[] = [];
  for (const match of text.matchAll(WORD)) {
    const key = match[0].replace(EDGE_PUNCTUATION, '').toLowerCase();
    const start = match.index ?? 0;
    out.push({ key: key === '' ? match[0] : key, start, end: start + match[0].length });
  }
  return out;
}

const words = speechWords;

function startsWith(haystack: readonly SpeechWord[], needle: readonly SpeechWord[]): boolean {
  if (needle.length > haystack.length) return false;
  return needle.every((word, i) => haystack[i].key === word.key);
}

/** Merges a new piece of recognised speech into the buffered text. Pure. */
export function mergeSpeech(buffer: string, piece: string): string {
  const bufferWords = words(buffer);
  const pieceWords = words(piece);
  if (pieceWords.length === 0) return buffer;
  if (bufferWords.length === 0) return piece;
  // A stale snapshot (or a repeat of the same words) adds nothing.
  if (startsWith(bufferWords, pieceWords)) return buffer;
  // A grown snapshot repeats the whole buffer and adds to it.
  if (startsWith(pieceWords, bufferWords)) return piece;

  // A delta may repeat the buffer's last words ("what is the" + "the weather"): drop the longest
  // leading run of the piece that equals the buffer's tail.
  let overlap = 0;
  for (let k = Math.min(bufferWords.length, pieceWords.length); k > 0; k--) {
    const tail = bufferWords.slice(bufferWords.length - k);
    if (startsWith(pieceWords, tail)) {
      overlap = k;
      break;
    }
  }
  const rest = overlap === 0 ? piece : piece.slice(pieceWords[overlap - 1].end);
  if (rest.trim() === '') return buffer;
  if (/\s$/u.test(buffer)) return buffer + rest.trimStart();
  if (/^\s/u.test(rest)) return buffer + rest;
  return `${buffer} ${rest}`;
}
