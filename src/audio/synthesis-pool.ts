import { Piscina, type TaskQueue } from 'piscina';
import type { Logger } from 'pino';
import { AppError, toAppError, type ErrorKind } from '../errors.js';
import type { PlaybackClock } from './playback-clock.js';
import { poolSizing, warmWorkerBalancer, type PoolSizing, type PoolSizingOptions } from './pool-sizing.js';
import type { Pcm } from './provider.js';
import { NativeLock, pinNativeLibrary } from './providers/espeak-native.js';
import type { EspeakCatalogue, EspeakOptions } from './providers/espeak.js';
import type { AudioPiece } from './speech-output.js';
import type { SynthesisMessage, SynthesisTask, SynthesisWorkerData } from './synthesis-worker.js';
import type { RenderOptions } from './utterance-renderer.js';
import { workerModule } from './worker-file.js';

/**
 * Speech synthesis off the event loop: a pool of worker threads (piscina), each with its own
 * eSpeak engine, loaded and warmed before the worker takes a job, doing the whole audio stage.
 * The main thread only hands out jobs and moves the chunks' bytes (transferred, not copied) to
 * the streams. How many workers run and when: src/audio/pool-sizing.ts.
 *
 * Jobs wait in a deadline queue: a stream's first segment before anything else, then the job
 * of the stream that runs out of audio soonest (`PlaybackClock.deadline`), so one stream's
 * look-ahead never delays another's next sentence that is about to be needed.
 *
 * Cancellation: a job whose reader stops (an interrupt, a client gone) is taken out of the queue
 * if it has not started; a running one sees its cancel flag at the engine's next block and
 * stops, freeing its worker within a block's work. A worker that dies is replaced by the pool;
 * the job it ran fails `unavailable` (the turn ends by the contract's rules).
 */

/** `workers`, `idleWorkers`, `idleTimeoutMs`, `youngGenerationMb`: `audio_generation.synthesis_workers` (pool-sizing.ts). */
export interface SynthesisPoolOptions extends PoolSizingOptions {
  /**
   * A job's chunks after its first reach the event loop in batches of at least this many bytes
   * (`synthesis_workers.batch_bytes`); absent or 0: each engine block's chunks as they are made.
   */
  readonly batchBytes?: number;
  readonly espeak: EspeakOptions;
  readonly render: RenderOptions;
  readonly logger?: Logger;
}

/** How the queue orders a job: its stream's clock (none: served as a first segment) and arrival. */
interface Schedule {
  readonly seq: number;
  readonly clock: PlaybackClock | undefined;
}

type QueuedTask = Parameters<TaskQueue['push']>[0];

/** Piscina's queue, earliest deadline first (ties: arrival order). */
class DeadlineQueue implements TaskQueue {
  readonly #tasks: QueuedTask[] = [];
  readonly #schedules: WeakMap<object, Schedule>;

  constructor(schedules: WeakMap<object, Schedule>) {
    this.#schedules = schedules;
  }

  get size(): number {
    return this.#tasks.length;
  }

  push(task: QueuedTask): void {
    this.#tasks.push(task);
  }

  unshift(task: QueuedTask): void {
    this.#tasks.unshift(task);
  }

  remove(task: QueuedTask): void {
    const index = this.#tasks.indexOf(task);
    if (index >= 0) this.#tasks.splice(index, 1);
  }

  /** Takes a job that has not started out of the queue; true when it was there. */
  drop(payload: object): boolean {
    const index = this.#tasks.findIndex((task) => payloadOf(task) === payload);
    if (index < 0) return false;
    this.#tasks.splice(index, 1);
    return true;
  }

  shift(): QueuedTask | null {
    if (this.#tasks.length === 0) return null;
    let best = 0;
    let bestKey = this.#key(this.#tasks[0]!);
    for (let i = 1; i < this.#tasks.length; i++) {
      const key = this.#key(this.#tasks[i]!);
      if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = i;
        bestKey = key;
      }
    }
    return this.#tasks.splice(best, 1)[0]!;
  }

  #key(task: QueuedTask): [number, number] {
    const schedule = this.#schedules.get(payloadOf(task));
    if (schedule === undefined) return [Number.NEGATIVE_INFINITY, 0];
    return [schedule.clock?.deadline() ?? Number.NEGATIVE_INFINITY, schedule.seq];
  }
}

/** The task object given to `run` (piscina keeps it as `task` on its queue entry). */
function payloadOf(task: QueuedTask): object {
  return (task as unknown as { task: object }).task;
}

interface Job {
  readonly task: SynthesisTask;
  readonly clock: PlaybackClock | undefined;
  readonly out: Array<AudioPiece | Pcm>;
  done: boolean;
  error: AppError | undefined;
  /** The worker thread running it, once started (to free the native lock if it dies). */
  threadId: number | undefined;
  wake: (() => void) | undefined;
}

/** Counts of what the pool did (for tests and operators). */
export interface SynthesisPoolStats {
  /** Jobs a worker began. */
  started: number;
  /** Jobs that ran to their end in a worker. */
  completed: number;
  /** Jobs taken out of the queue before any worker began them. */
  droppedQueued: number;
  /** Running jobs that stopped early on their cancel flag. */
  stoppedRunning: number;
  /** Audio frames that arrived for jobs whose reader had already left. */
  discardedFrames: number;
  /** Jobs that failed because their worker died. */
  crashed: number;
}

export class SynthesisPool {
  readonly stats: SynthesisPoolStats = { started: 0, completed: 0, droppedQueued: 0, stoppedRunning: 0, discardedFrames: 0, crashed: 0 };
  readonly #options: SynthesisPoolOptions;
  readonly #schedules = new WeakMap<object, Schedule>();
  readonly #queue = new DeadlineQueue(this.#schedules);
  readonly #jobs = new Map<number, Job>();
  readonly #nativeLock = NativeLock.processBuffer();
  readonly #piscina: Piscina;
  readonly #sizing: PoolSizing;
  /** Thread ids of the workers whose engine is loaded and warm (piscina says ready). */
  readonly #warm = new Set<number>();
  #nextId = 1;
  #closed = false;

  /** Starts the idle workers; `start()` waits until each has loaded and warmed its engine. */
  constructor(options: SynthesisPoolOptions) {
    this.#options = options;
    this.#sizing = poolSizing(options);
    const workerData: SynthesisWorkerData = { espeak: options.espeak, render: options.render, batchBytes: options.batchBytes ?? 0, nativeLock: this.#nativeLock };
    const worker = workerModule('synthesis-worker');
    this.#piscina = new Piscina({
      filename: worker.url.href,
      minThreads: this.#sizing.minThreads,
      maxThreads: this.#sizing.maxThreads,
      idleTimeout: this.#sizing.idleTimeout,
      resourceLimits: this.#sizing.resourceLimits,
      concurrentTasksPerWorker: 1,
      loadBalancer: warmWorkerBalancer(this.#warm),
      // Workers wait on their event loop between jobs (not in Atomics.wait): nothing blocks them.
      atomics: 'disabled',
      taskQueue: this.#queue,
      workerData,
      execArgv: worker.execArgv,
      recordTiming: false,
    });
    // The idle workers started here take the start-up jobs, which wait in them for the engine.
    for (const thread of this.#piscina.threads) this.#warm.add(thread.threadId);
    this.#piscina.on('workerCreate', (worker: { readonly id: number }) => this.#warm.add(worker.id));
    this.#piscina.on('workerDestroy', (worker: { readonly id: number }) => this.#warm.delete(worker.id));
    this.#piscina.on('message', (message: SynthesisMessage) => this.#onMessage(message));
    // A worker that fails with no job on it: the pool replaces it; nothing else to do.
    this.#piscina.on('error', (error: unknown) => options.logger?.error({ err: error }, 'speech worker failed'));
  }

  /** The most worker threads the pool runs (under load). */
  get size(): number {
    return this.#sizing.maxThreads;
  }

  /** The threads now running, warm or still loading (tests use it to make one die). */
  get threads(): readonly import('node:worker_threads').Worker[] {
    return this.#piscina.threads;
  }

  /**
   * Resolves once every idle worker (at least one) has loaded and warmed its engine; the engine's
   * voices. (The workers started with the pool take one catalogue job each; with no idle worker,
   * the one this starts stops again after the idle timeout.)
   */
  async start(): Promise<EspeakCatalogue> {
    if (this.#options.espeak.engine !== undefined && this.#options.espeak.engine !== 'wasm') await pinNativeLibrary();
    const warm = Math.max(1, this.#sizing.minThreads);
    const catalogues = await Promise.all(Array.from({ length: warm }, () => this.#run({ kind: 'catalogue', text: '', voice: '' })));
    return catalogues[0] as EspeakCatalogue;
  }

  /** Output chunks of the text, as each block is converted in a worker. */
  speak(text: string, voice: string, signal: AbortSignal, clock?: PlaybackClock): AsyncGenerator<AudioPiece> {
    return this.#stream('render', text, voice, signal, clock) as AsyncGenerator<AudioPiece>;
  }

  /** The engine's own PCM blocks (for a fallback chain, whose audio stage converts them). */
  synthesize(text: string, voice: string, signal: AbortSignal, clock?: PlaybackClock): AsyncGenerator<Pcm> {
    return this.#stream('raw', text, voice, signal, clock) as AsyncGenerator<Pcm>;
  }

  /** Stops the workers (running jobs are cancelled first). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#jobs.values()) Atomics.store(job.task.cancel, 0, 1);
    await this.#piscina.destroy();
  }

  #run(task: Omit<SynthesisTask, 'id' | 'cancel'>, clock?: PlaybackClock): Promise<unknown> {
    const full: SynthesisTask = { ...task, id: this.#nextId++, cancel: new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) };
    this.#schedules.set(full, { seq: full.id, clock });
    return this.#piscina.run(full);
  }

  async *#stream(kind: 'render' | 'raw', text: string, voice: string, signal: AbortSignal, clock?: PlaybackClock): AsyncGenerator<AudioPiece | Pcm> {
    if (signal.aborted) throw toAppError(signal.reason, signal);
    if (this.#closed) throw new AppError('unavailable', 'the speech engine is shutting down');
    const task: SynthesisTask = { id: this.#nextId++, kind, text, voice, cancel: new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) };
    const job: Job = { task, clock, out: [], done: false, error: undefined, threadId: undefined, wake: undefined };
    this.#jobs.set(task.id, job);
    this.#schedules.set(task, { seq: task.id, clock });
    const wake = () => {
      const resume = job.wake;
      job.wake = undefined;
      resume?.();
    };
    signal.addEventListener('abort', wake, { once: true });
    this.#piscina.run(task).then(
      () => undefined,
      (error: unknown) => {
        if (job.done) return;
        // The worker died under the job (or the pool closed): the pool starts another worker.
        if (job.threadId !== undefined) NativeLock.releaseFor(this.#nativeLock, job.threadId);
        this.stats.crashed++;
        this.#options.logger?.error({ err: error, job: task.id }, 'speech worker stopped during a synthesis');
        this.#finish(job, new AppError('unavailable', 'the speech engine stopped unexpectedly', { cause: error }));
      },
    );
    try {
      for (;;) {
        if (signal.aborted) throw toAppError(signal.reason, signal);
        const next = job.out.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (job.done) {
          if (job.error !== undefined) throw job.error;
          return;
        }
        await new Promise<void>((resolve) => (job.wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', wake);
      if (!job.done) {
        // Not started: out of the queue, never run. Running: stops at the engine's next block.
        if (this.#queue.drop(task)) this.stats.droppedQueued++;
        Atomics.store(task.cancel, 0, 1);
      }
      this.#jobs.delete(task.id);
      job.out.length = 0;
    }
  }

  #finish(job: Job, error?: AppError): void {
    if (job.done) return;
    job.done = true;
    job.error = error;
    const resume = job.wake;
    job.wake = undefined;
    resume?.();
  }

  #onMessage(message: SynthesisMessage): void {
    if (message.type === 'start') this.stats.started++;
    if (message.type === 'end') {
      if (message.stopped) this.stats.stoppedRunning++;
      else this.stats.completed++;
    }
    const job = this.#jobs.get(message.id);
    if (job === undefined) {
      // A job its reader already left: what it still sends is dropped.
      if (message.type === 'chunks') this.stats.discardedFrames += message.frames.reduce((sum, n) => sum + n, 0);
      return;
    }
    switch (message.type) {
      case 'start':
        job.threadId = message.threadId;
        return;
      case 'chunks': {
        const { sampleRate, channels } = this.#options.render;
        const frameBytes = channels * Int16Array.BYTES_PER_ELEMENT;
        let offset = 0;
        let frames = 0;
        for (const count of message.frames) {
          const length = count * frameBytes;
          job.out.push({ data: Buffer.from(message.bytes, offset, length), frames: count, sampleRate, channels });
          offset += length;
          frames += count;
        }
        job.clock?.produced(frames / sampleRate);
        break;
      }
      case 'pcm':
        job.out.push({ samples: message.samples, sampleRate: message.sampleRate, channels: 1 });
        job.clock?.produced(message.samples.length / message.sampleRate);
        break;
      case 'end':
        this.#finish(job);
        return;
      case 'error':
        this.#finish(job, new AppError(message.kind as ErrorKind, message.message));
        return;
    }
    const resume = job.wake;
    job.wake = undefined;
    resume?.();
  }
}
