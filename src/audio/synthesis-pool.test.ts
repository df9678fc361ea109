import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import { PlaybackClock } from './playback-clock.js';
import { espeakOptionsFromConfig } from './providers/espeak.js';
import { renderOptionsFromConfig, type AudioPiece } from './speech-output.js';
import { SynthesisPool } from './synthesis-pool.js';
import { NATIVE_LIBRARY } from './providers/espeak-native.js';

const audio = loadConfig({ env: {} }).audio_generation;
/** Minutes of speech: its synthesis takes seconds, long enough to stop it half-way. */
const LONG = Array.from({ length: 60 }, (_, i) => `This is sentence number ${i + 1} of a very long text that goes on and on.`).join(' ');
const SHORT = 'A short sentence.';
/** Three clauses of at least 20 characters: three parts with the shipped `clause_min_chars`. */
const CLAUSES = ['If you would like to hear more,', 'I can tell you about its history,', 'its food or its parks.'];

async function all(pieces: AsyncIterable<AudioPiece>): Promise<AudioPiece[]> {
  const out: AudioPiece[] = [];
  for await (const piece of pieces) out.push(piece);
  return out;
}

const frames = (pieces: readonly AudioPiece[]) => pieces.reduce((n, p) => n + p.frames, 0);

/** Waits for the pool's counters to reach a state (checked at every turn of the event loop). */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setImmediate(resolve));
}

describe('SynthesisPool (one worker, WASM eSpeak)', () => {
  let pool: SynthesisPool;
  const never = new AbortController().signal;
  before(async () => {
    pool = new SynthesisPool({
      workers: 1,
      espeak: { ...espeakOptionsFromConfig(audio), engine: 'wasm' },
      render: renderOptionsFromConfig(audio),
      clauseMinChars: audio.synthesis_workers.clause_min_chars,
      // Slices on whatever the shipped setting: every test here also runs jobs made in slices.
      sliceSec: 0.5,
    });
    await pool.start();
  });
  after(() => pool.close());

  it('streams a sentence as chunks of the configured format, the same length every time', async () => {
    const one = await all(pool.speak(SHORT, 'en-us', never));
    const two = await all(pool.speak(SHORT, 'en-us', never));
    assert.ok(one.length > 1);
    for (const piece of one) {
      assert.equal(piece.sampleRate, audio.sample_rate);
      assert.equal(piece.channels, audio.channels);
      // A chunk carrying a pause may be longer than chunk_bytes, up to max_chunk_bytes (no near-silent chunk).
      assert.ok(piece.data.length <= audio.max_chunk_bytes && piece.data.length === piece.frames * 2 * audio.channels);
    }
    // eSpeak's audio varies by a few samples from call to call; one chunk more or less would not.
    assert.ok(Math.abs(frames(two) - frames(one)) < one[0]!.frames / 4, `${frames(one)} vs ${frames(two)} frames`);
  });

  it('a running job that is left stops in its worker, and the worker serves the next job', async () => {
    const full = frames(await all(pool.speak(LONG.slice(0, 600), 'en-us', never))) * (LONG.length / 600);
    const before = { ...pool.stats };
    for await (const _ of pool.speak(LONG, 'en-us', never)) break; // the reader leaves after one chunk
    const next = await all(pool.speak(SHORT, 'en-us', never));
    assert.ok(next.length > 0);
    await until(() => pool.stats.stoppedRunning > before.stoppedRunning);
    assert.equal(pool.stats.completed, before.completed + 1, 'only the short job ran to its end');
    assert.ok(pool.stats.discardedFrames - before.discardedFrames < full / 2, 'the long job stopped early, not after rendering everything');
  });

  it('an aborted turn: its queued job is dropped before any worker begins it, its running job stops', async () => {
    const before = { ...pool.stats };
    const turn = new AbortController();
    const running = pool.speak(LONG, 'en-us', turn.signal);
    const first = await running.next(); // the long job is on the only worker
    assert.equal(first.done, false);
    const queued = all(pool.speak(SHORT, 'en-us', turn.signal));
    const other = all(pool.speak(SHORT, 'en-us', never)); // another stream's job, queued behind
    turn.abort(new AppError('interrupted', 'interrupted'));
    await assert.rejects(queued, (error: AppError) => error.kind === 'interrupted');
    await assert.rejects(running.next(), (error: AppError) => error.kind === 'interrupted');
    assert.ok((await other).length > 0, 'the other stream is still served');
    await until(() => pool.stats.stoppedRunning > before.stoppedRunning);
    assert.equal(pool.stats.droppedQueued, before.droppedQueued + 1);
    assert.equal(pool.stats.started, before.started + 2, 'the long job and the other stream ran; the dropped one never started');
  });

  it('earliest deadline first: a first segment, then the stream with the least audio ahead of playback', async () => {
    const blocker = pool.speak(LONG, 'en-us', never);
    await blocker.next(); // holds the only worker while the others queue
    let now = 1_000_000;
    const clockAt = () => now;
    const farAhead = new PlaybackClock(clockAt);
    farAhead.produced(30);
    farAhead.written();
    const nearlyDry = new PlaybackClock(clockAt);
    nearlyDry.produced(2);
    nearlyDry.written();
    const fresh = new PlaybackClock(clockAt); // no audio yet: its first segment
    const order: string[] = [];
    const run = async (name: string, clock: PlaybackClock) => {
      for await (const _ of pool.speak(SHORT, 'en-us', never, clock)) {
        order.push(name);
        break;
      }
    };
    const jobs = [run('far ahead', farAhead), run('nearly dry', nearlyDry), run('first segment', fresh)];
    now += 1000;
    await blocker.return(undefined); // frees the worker: the queue decides who goes next
    await Promise.all(jobs);
    assert.deepEqual(order, ['first segment', 'nearly dry', 'far ahead']);
  });

  it('a segment is made clause by clause: its audio is as long as its clauses said one by one', async () => {
    const whole = await all(pool.speak(CLAUSES.join(' '), 'en-us', never));
    const alone = await Promise.all(CLAUSES.map((clause) => all(pool.speak(clause, 'en-us', never))));
    // Each clause is an utterance ending in its own (short) last chunk.
    assert.ok(whole.length >= CLAUSES.length);
    // eSpeak's audio varies by a few samples from call to call; a clause more or less would not.
    const expected = alone.reduce((sum, pieces) => sum + frames(pieces), 0);
    assert.ok(Math.abs(frames(whole) - expected) < whole[0]!.frames / 4, `${frames(whole)} vs ${expected} frames`);
  });

  it('another stream about to run dry is served before the rest of a long segment (between clauses or slices)', async () => {
    let now = 1_000_000;
    const clockAt = () => now;
    /** Counts the audio made for its stream. */
    class CountingClock extends PlaybackClock {
      made = 0;
      override produced(seconds: number): void {
        this.made += seconds;
        super.produced(seconds);
      }
    }
    const farAhead = new CountingClock(clockAt);
    farAhead.produced(30);
    farAhead.written();
    const nearlyDry = new PlaybackClock(clockAt);
    nearlyDry.produced(2);
    nearlyDry.written();
    const full = (await all(pool.speak(CLAUSES.join(' '), 'en-us', never))).reduce((sum, p) => sum + p.frames / p.sampleRate, 0);
    const long = pool.speak(CLAUSES.join(' '), 'en-us', never, farAhead);
    await long.next(); // its first part is on the only worker
    const before = farAhead.made - 30;
    let longMadeWhenServed = Number.NaN;
    const urgent = (async () => {
      for await (const _ of pool.speak(SHORT, 'en-us', never, nearlyDry)) {
        // Chunks reach the main thread one message at a time, and this runs before the next one.
        if (Number.isNaN(longMadeWhenServed)) longMadeWhenServed = farAhead.made - 30;
      }
    })();
    now += 1000;
    for await (const _ of long); // reading on does not hold the worker: the queue decides
    await urgent;
    assert.ok(longMadeWhenServed >= before && longMadeWhenServed > 0, 'the part that was running finished first');
    assert.ok(longMadeWhenServed < full - 0.5, `served after ${longMadeWhenServed.toFixed(2)} s of the long segment's ${full.toFixed(2)} s`);
  });

  it('a multi-clause job that is left: its running clause stops and its later clauses never start', async () => {
    const before = { ...pool.stats };
    for await (const _ of pool.speak(CLAUSES.join(' '), 'en-us', never)) break;
    assert.ok((await all(pool.speak(SHORT, 'en-us', never))).length > 0);
    assert.equal(pool.stats.started, before.started + 2, 'the left job and the short one');
    assert.equal(pool.stats.completed, before.completed + 1, 'only the short job ran to its end');
  });

  it('a worker that dies fails its job as unavailable, and a new worker takes the next one', async () => {
    const before = { ...pool.stats };
    const doomed = pool.speak(LONG, 'en-us', never);
    await doomed.next();
    await pool.threads[0]!.terminate();
    await assert.rejects(
      (async () => {
        for await (const _ of doomed);
      })(),
      (error: AppError) => error.kind === 'unavailable',
    );
    assert.equal(pool.stats.crashed, before.crashed + 1);
    const after = await all(pool.speak(SHORT, 'en-us', never));
    assert.ok(after.length > 0, 'the replaced worker speaks');
  });
});

/** Waits until the condition holds, looking every few milliseconds (a wait, not a timing check). */
async function eventually(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('SynthesisPool on demand (WASM eSpeak): one warm worker while idle, more under load', () => {
  const never = new AbortController().signal;
  const options = (idleWorkers: number) => ({
    workers: 2,
    idleWorkers,
    idleTimeoutMs: 50,
    espeak: { ...espeakOptionsFromConfig(audio), engine: 'wasm' as const },
    render: renderOptionsFromConfig(audio),
  });

  it('starts a second worker while a job waits, serves both streams, then stops it after the idle timeout', async () => {
    const pool = new SynthesisPool(options(1));
    try {
      await pool.start();
      assert.equal(pool.threads.length, 1, 'one worker while idle');
      const alone = frames(await all(pool.speak(SHORT, 'en-us', never)));
      const long = pool.speak(LONG, 'en-us', never);
      await long.next(); // the warm worker is busy with it
      const waiting = all(pool.speak(SHORT, 'en-us', never));
      await eventually(() => pool.threads.length === 2);
      const served = await waiting;
      assert.ok(Math.abs(frames(served) - alone) < served[0]!.frames / 4, 'served the same audio');
      await long.return(undefined);
      await eventually(() => pool.threads.length === 1);
      assert.ok((await all(pool.speak(SHORT, 'en-us', never))).length > 0, 'the remaining worker still speaks');
      assert.equal(pool.stats.crashed, 0);
    } finally {
      await pool.close();
    }
  });

  it('a job that reaches a pool with no worker left waits for one to load, and completes', async () => {
    const pool = new SynthesisPool(options(0));
    try {
      const catalogue = await pool.start();
      assert.equal(catalogue.build, 'wasm');
      await eventually(() => pool.threads.length === 0);
      const pieces = await all(pool.speak(SHORT, 'en-us', never));
      assert.ok(pieces.length > 1);
      for (const piece of pieces) assert.equal(piece.data.length, piece.frames * 2 * audio.channels);
      assert.equal(pool.stats.completed, 1);
    } finally {
      await pool.close();
    }
  });
});

// Asked of the dynamic linker's cache, not by loading it: this thread must not hold the library.
const nativeInstalled = (() => {
  try {
    return execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes(NATIVE_LIBRARY);
  } catch {
    return false;
  }
})();
const skip = nativeInstalled ? false : `${NATIVE_LIBRARY} is not installed (apt-get install espeak-ng)`;

// This file's main thread never loads the library itself: only the pool's pin keeps it loaded.
describe('SynthesisPool with native eSpeak', () => {
  it('regression: a pool started after another one closed still finds its voices (the library stays loaded)', { skip, timeout: 120_000 }, async () => {
    for (let round = 0; round < 2; round++) {
      const pool = new SynthesisPool({ workers: 1, espeak: { ...espeakOptionsFromConfig(audio), engine: 'native' }, render: renderOptionsFromConfig(audio), closeWaitMs: audio.synthesis_workers.close_wait_ms });
      try {
        const catalogue = await pool.start();
        assert.equal(catalogue.build, 'native');
        assert.ok(catalogue.voices.length > 100, `round ${round + 1}: ${catalogue.voices.length} voices`);
      } finally {
        await pool.close();
      }
    }
  });

  it('closing while workers load the engine or speak does not take the process down (no thread stopped inside the library)', { skip, timeout: 120_000 }, async () => {
    const never = new AbortController().signal;
    for (let round = 0; round < 12; round++) {
      // Two workers start loading the library at once; the pool closes at once, mid-load, or mid-speech.
      const pool = new SynthesisPool({
        workers: 2,
        idleWorkers: 2,
        espeak: { ...espeakOptionsFromConfig(audio), engine: 'native' },
        render: renderOptionsFromConfig(audio),
        closeWaitMs: audio.synthesis_workers.close_wait_ms,
      });
      if (round % 3 === 1) await new Promise((resolve) => setTimeout(resolve, 5 * round));
      if (round % 3 === 2) {
        await pool.start();
        const speech = pool.speak('A sentence long enough to keep the engine busy for a while, and then some more.', 'en-us', never);
        await speech.next();
        void speech.return(undefined);
      }
      await pool.close();
      assert.equal(pool.threads.length, 0, `round ${round + 1}: every worker stopped`);
    }
  });
});
