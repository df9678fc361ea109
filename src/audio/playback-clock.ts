/**
 * Where one stream's playback stands, as the server can know it: the client starts playing
 * when the first audio chunk is written and plays in real time from then on. The speech
 * scheduler orders synthesis by the moment each stream runs out of audio (earliest deadline
 * first), and the look-ahead asks how many seconds of audio a stream holds ahead of playback.
 */
export class PlaybackClock {
  readonly #now: () => number;
  /** When the first chunk was written (ms on `now`'s scale); undefined until then. */
  #startedAt: number | undefined;
  /** Seconds of audio made for this stream so far (written or waiting to be). */
  #producedSec = 0;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Audio came out of synthesis for this stream. */
  produced(seconds: number): void {
    this.#producedSec += seconds;
  }

  /** An audio chunk was written to the stream: the first one starts playback. */
  written(): void {
    this.#startedAt ??= this.#now();
  }

  /** Nothing was made yet: the stream's next synthesis is its first (served first of all). */
  get first(): boolean {
    return this.#producedSec === 0;
  }

  /** Seconds of audio held ahead of playback (negative: the client has run dry). */
  aheadSec(): number {
    const played = this.#startedAt === undefined ? 0 : (this.#now() - this.#startedAt) / 1000;
    return this.#producedSec - played;
  }

  /**
   * When the client runs out of audio (ms on `now`'s scale): -Infinity while the stream has none
   * yet, so first segments go before everything else.
   */
  deadline(): number {
    if (this.first) return Number.NEGATIVE_INFINITY;
    return (this.#startedAt ?? this.#now()) + this.#producedSec * 1000;
  }
}
