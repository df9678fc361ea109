/**
 * The load benchmark's listener: a client that starts playing a fixed time after its first audio
 * chunk and then plays in real time. Pure functions, so that what counts as a stutter is table-
 * tested (test/bench/playback.test.ts) rather than buried in the benchmark.
 */

/** One audio chunk as the client saw it. */
export interface ArrivedChunk {
  /** When it arrived, in milliseconds on any clock the other chunks of the stream share. */
  readonly atMs: number;
  /** How long it plays, in milliseconds. */
  readonly durationMs: number;
}

/** How one stream played. */
export interface Playback {
  /** Chunks that arrived after the audio before them had played out (each one a stutter). */
  readonly lateChunks: number;
  /**
   * The largest `arrival − when it was due` over every chunk after the first, in milliseconds:
   * negative is the smallest margin the stream kept, positive the longest the listener waited.
   * `-bufferMs` for a stream of one chunk; NaN for none.
   */
  readonly worstLatenessMs: number;
  /** Silence the listener heard in the middle of the stream, in milliseconds (the late chunks' waits). */
  readonly stallMs: number;
  /** Audio received, in milliseconds. */
  readonly audioMs: number;
}

/**
 * Plays `chunks` (in arrival order) as a client would: playback starts `bufferMs` after the first
 * chunk arrived; each chunk is due when the one before it has played out. A chunk that arrives
 * after it was due is a stutter: the listener hears silence until it arrives, and playback goes
 * on from there (later chunks are due relative to the delayed playback, as on a real player).
 * Arriving exactly when due is in time.
 */
export function playback(chunks: readonly ArrivedChunk[], bufferMs: number): Playback {
  if (chunks.length === 0) return { lateChunks: 0, worstLatenessMs: Number.NaN, stallMs: 0, audioMs: 0 };
  let playedOutAt = chunks[0].atMs + bufferMs + chunks[0].durationMs;
  let audioMs = chunks[0].durationMs;
  let lateChunks = 0;
  let stallMs = 0;
  let worstLatenessMs = -bufferMs;
  for (let i = 1; i < chunks.length; i++) {
    const chunk = chunks[i];
    const lateness = chunk.atMs - playedOutAt;
    if (i === 1 || lateness > worstLatenessMs) worstLatenessMs = lateness;
    if (lateness > 0) {
      lateChunks++;
      stallMs += lateness;
    }
    playedOutAt = Math.max(playedOutAt, chunk.atMs) + chunk.durationMs;
    audioMs += chunk.durationMs;
  }
  return { lateChunks, worstLatenessMs, stallMs, audioMs };
}

/**
 * The `p` quantile (0–1) by the nearest-rank method: the smallest sample with at least `p` of the
 * samples at or below it. NaN for no samples.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** One level's outcome, as far as "did it hold" goes. */
export interface LevelOutcome {
  readonly level: number;
  /** Streams that stuttered, failed or did not finish in time. */
  readonly stuttering: number;
}

/** The largest level with no stuttering stream; 0 when none held. */
export function largestHeld(levels: readonly LevelOutcome[]): number {
  return levels.reduce((best, l) => (l.stuttering === 0 && l.level > best ? l.level : best), 0);
}

/**
 * Whether the benchmark should go on to the next level: it stops once `stopAfter` levels in a
 * row did not hold (a server that stutters at 25 will not hold 400, and trying costs minutes).
 * `stopAfter` 0 runs every level.
 */
export function shouldContinue(levels: readonly LevelOutcome[], stopAfter: number): boolean {
  if (stopAfter <= 0 || levels.length < stopAfter) return true;
  return levels.slice(-stopAfter).some((l) => l.stuttering === 0);
}
