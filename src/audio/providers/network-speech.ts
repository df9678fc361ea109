import { networkKind, upstreamStream, type Countdown, type UpstreamCall } from '../../upstream.js';
import type { Pcm } from '../provider.js';
import { splitForSynthesis } from '../text-segments.js';

/** What `speakInPieces` needs to know of a network speech engine. */
export interface NetworkSpeechLimits {
  /** The engine's config name, for the log (`openai_speech`, `edge`). */
  readonly name: string;
  /** The longest text one exchange takes; longer texts go as several, cut at sentence ends. */
  readonly maxChars: number;
  /** Nothing for this long (before the answer, or between two pieces of audio) → a timeout. */
  readonly stallMs: number;
}

/**
 * What every network speech engine does with a text: cut it at sentence ends into pieces one
 * exchange takes, and run each piece's exchange, one after another, as an upstream request (see
 * `upstreamStream`) with a stall countdown the exchange restarts on every sign of progress. An
 * exchange holds only its transport: how to ask and how to read the audio.
 */
export async function* speakInPieces(
  limits: NetworkSpeechLimits,
  text: string,
  signal: AbortSignal,
  exchange: (piece: string, call: UpstreamCall, stall: Countdown) => AsyncIterable<Pcm>,
): AsyncGenerator<Pcm> {
  const { name, maxChars, stallMs } = limits;
  for (const piece of splitForSynthesis(text, maxChars)) {
    yield* upstreamStream('speech engine', signal, networkKind, (call) =>
      exchange(piece, call, call.countdown(stallMs, `${name}: nothing for ${stallMs} ms`)),
    );
  }
}
