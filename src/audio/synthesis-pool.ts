import { Piscina, type TaskQueue } from 'piscina';
import type { Logger } from 'pino';
import { AppError, toAppError, type ErrorKind } from '../errors.js';
import { clauseParts } from '../text-processing/clause-marks.js';
import type { PlaybackClock } from './playback-clock.js';
import { poolSizing, warmWorkerBalancer, type PoolSizing, type PoolSizingOptions } from './pool-sizing.js';
import type { Pcm } from './provider.js';
import { NativeLock, pinNativeLibrary } from './providers/espeak-native.js';
import type { EspeakCatalogue, EspeakOptions } from './providers/espeak.js';
import type { AudioPiece } from './speech-output.js';
import type { PcmRest, SynthesisMessage, SynthesisTask, SynthesisWorkerData } from './synthesis-worker.js';
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
 * look-ahead never delays another's next sentence that is about to be needed. A long segment is
 * synthesized clause by clause (`clauseMinChars`): each clause goes back into the queue with its
 * stream's deadline as it then stands, so under load other streams' urgent audio is made between
 * two clauses of a long sentence instead of waiting for all of it. With `sliceSec`, a job
 * converts only about that much audio inside a clause, then the rest of the engine's PCM (cut in
 * a pause between sounds) goes back into the queue the same way, each slice twice as long as the
 * one before: the engine cannot stop and resume, but the conversion of audio not needed yet
 * waits while other streams' first audio is made. The parts of a job run one after another (the
 * next is queued when the one before has ended), so its audio stays in order.
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
  /** `close()` waits at most this long for workers inside the engine (`synthesis_workers.close_wait_ms`). */
  readonly closeWaitMs?: number;
  readonly espeak: EspeakOptions;
  readonly render: RenderOptions;
  /**
   * A spoken segment is synthesized in parts cut at its clause boundaries, each at least this
   * many characters, each a job of its own in the queue (`audio_generation.synthesis_workers.
   * clause_min_chars`); absent or 0: whole segments. Each part is its own utterance, so the seam
   * between two is the silence pad twice, as between sentences.
   */
  readonly clauseMinChars?: number;
  /**
   * A job converts about this many seconds of audio, then the rest of its utterance goes back
   * into the queue (`audio_generation.synthesis_workers.slice_sec`); absent or 0: all at once.
   */
  readonly sliceSec?: number;
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
  readonly id: number;
  readonly kind: 'render' | 'raw';
  readonly voice: string;
  readonly cancel: Int32Array;
  readonly clock: PlaybackClock | undefined;
  /** What is still to synthesize after `part`, in order: the rest of its utterance, then clauses. */
  readonly rest: Array<string | PcmRest>;
  /** The part in the queue or on a worker: the queue knows it by this object. */
  part: SynthesisTask;
  /** Piscina has counted `part` done (its worker is free again). */
  partSettled: boolean;
  /** The next part, once `part` ended, waiting for piscina to count `part` done. */
  next: SynthesisTask | undefined;
  readonly out: Array<AudioPiece | Pcm>;
  /** A worker began its first part. */
  begun: boolean;
  done: boolean;
  error: AppError | undefined;
  /** The worker thread running its part, once started (to free the native lock if it dies). */
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
  /**
   * Thread ids of the workers piscina reports ready (`workerCreate`: engine loaded and warm, or
   * failed to load): the only ones the balancer gives jobs, and the ones `close()` may stop.
   */
  readonly #ready = new Set<number>();
  /** Called whenever a worker becomes ready (start-up waits). */
  readonly #readyWaiters = new Set<() => void>();
  /** Tasks a worker has begun and not yet ended (`start` seen, no `end` or `error`). */
  readonly #running = new Set<number>();
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
      loadBalancer: warmWorkerBalancer(this.#ready),
      // Workers wait on their event loop between jobs (not in Atomics.wait): nothing blocks them.
      atomics: 'disabled',
      taskQueue: this.#queue,
      workerData,
      execArgv: worker.execArgv,
      recordTiming: false,
    });
    // Jobs come after start(), which waits for the idle workers started here to be ready.
    this.#piscina.on('workerCreate', (worker: { readonly id: number }) => {
      this.#ready.add(worker.id);
      for (const waiter of [...this.#readyWaiters]) waiter();
    });
    this.#piscina.on('workerDestroy', (worker: { readonly id: number }) => {
      this.#ready.delete(worker.id);
    });
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
    // The start-up jobs wait until the idle workers are ready: queued while they still load, they
    // would make piscina start further workers at once, which an idle server then holds for
    // idle_timeout_ms (~45 MB each with the WASM build).
    await this.#workersReady(Math.min(this.#sizing.minThreads, this.#piscina.threads.length));
    const catalogues = await Promise.all(Array.from({ length: warm }, () => this.#run({ kind: 'catalogue', text: '', voice: '' })));
    return catalogues[0] as EspeakCatalogue;
  }

  /** Resolves once `count` workers have become ready, or a worker failed (its job reports why). */
  #workersReady(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#ready.size >= count) done();
      };
      const done = () => {
        this.#readyWaiters.delete(check);
        this.#piscina.off('error', done);
        resolve();
      };
      this.#readyWaiters.add(check);
      this.#piscina.on('error', done);
      check();
    });
  }

  /** Output chunks of the text, as each block is converted in a worker. */
  speak(text: string, voice: string, signal: AbortSignal, clock?: PlaybackClock): AsyncGenerator<AudioPiece> {
    return this.#stream('render', text, voice, signal, clock) as AsyncGenerator<AudioPiece>;
  }

  /** The engine's own PCM blocks (for a fallback chain, whose audio stage converts them). */
  synthesize(text: string, voice: string, signal: AbortSignal, clock?: PlaybackClock): AsyncGenerator<Pcm> {
    return this.#stream('raw', text, voice, signal, clock) as AsyncGenerator<Pcm>;
  }

  /**
   * Stops the workers. Running jobs are cancelled first, and the pool waits (at most
   * `closeWaitMs`) until no worker is inside the engine: neither synthesizing nor still loading
   * it. A worker terminated inside a native call (libespeak-ng through koffi) takes the whole
   * process down with it. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#jobs.values()) Atomics.store(job.cancel, 0, 1);
    const deadline = performance.now() + (this.#options.closeWaitMs ?? 0);
    while ((this.#running.size > 0 || this.#piscina.threads.some((t) => !this.#ready.has(t.threadId))) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
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
    // Engine PCM (`raw`) is converted as one utterance by its reader: its pauses come from the
    // engine, which ends a clause said alone without one, so it stays whole.
    const parts = kind === 'render' ? clauseParts(text, this.#options.clauseMinChars ?? 0) : [];
    const cancel = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const id = this.#nextId++;
    const first = this.#task(id, kind, parts[0] ?? text, voice, cancel);
    const job: Job = { id, kind, voice, cancel, clock, rest: parts.slice(1), part: first, partSettled: false, next: undefined, out: [], begun: false, done: false, error: undefined, threadId: undefined, wake: undefined };
    this.#jobs.set(id, job);
    const wake = () => {
      const resume = job.wake;
      job.wake = undefined;
      resume?.();
    };
    signal.addEventListener('abort', wake, { once: true });
    this.#runPart(job, first);
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
        // Not started: out of the queue, never run. Running: stops at the engine's next block,
        // and no later part is queued (the job is no longer known when its part ends).
        if (this.#queue.drop(job.part)) this.stats.droppedQueued++;
        Atomics.store(cancel, 0, 1);
      }
      this.#jobs.delete(id);
      job.out.length = 0;
    }
  }

  #task(id: number, kind: Job['kind'], part: string | PcmRest, voice: string, cancel: Int32Array): SynthesisTask {
    const sliceSec = kind === 'render' && this.#options.sliceSec ? this.#options.sliceSec : undefined;
    if (typeof part === 'string') return { id, kind, text: part, voice, cancel, sliceSec };
    return { id, kind, text: '', voice, cancel, sliceSec: part.sliceSec, rest: part };
  }

  /** Queues one part of a job. Its place: the job's arrival (`seq`) and its stream's deadline. */
  #runPart(job: Job, task: SynthesisTask): void {
    job.part = task;
    job.partSettled = false;
    this.#schedules.set(task, { seq: job.id, clock: job.clock });
    this.#piscina.run(task).then(
      () => {
        if (job.part !== task) return;
        job.partSettled = true;
        const next = job.next;
        job.next = undefined;
        // Not when its reader has left meanwhile: an abandoned job queues no later part.
        if (next !== undefined && !job.done && this.#jobs.get(job.id) === job) this.#runPart(job, next);
      },
      (error: unknown) => {
        // Settled already, or this part had ended and the next one is elsewhere.
        if (job.done || job.part !== task) return;
        // The worker died under the job (or the pool closed): the pool starts another worker.
        if (job.threadId !== undefined) NativeLock.releaseFor(this.#nativeLock, job.threadId);
        this.stats.crashed++;
        this.#options.logger?.error({ err: error, job: job.id }, 'speech worker stopped during a synthesis');
        this.#finish(job, new AppError('unavailable', 'the speech engine stopped unexpectedly', { cause: error }));
      },
    );
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
    if (message.type === 'start') this.#running.add(message.id);
    else if (message.type === 'end' || message.type === 'error') this.#running.delete(message.id);
    const job = this.#jobs.get(message.id);
    if (message.type === 'start' && job?.begun !== true) this.stats.started++;
    if (message.type === 'end') {
      if (message.stopped) this.stats.stoppedRunning++;
      else if (job === undefined || job.rest.length === 0) this.stats.completed++;
    }
    if (job === undefined) {
      // A job its reader already left: what it still sends is dropped.
      if (message.type === 'chunks') this.stats.discardedFrames += message.frames.reduce((sum, n) => sum + n, 0);
      return;
    }
    switch (message.type) {
      case 'start':
        job.begun = true;
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
      case 'rest':
        job.rest.unshift(message.rest);
        return;
      case 'end': {
        const next = message.stopped ? undefined : job.rest.shift();
        if (next === undefined) this.#finish(job);
        // The worker's `end` and piscina's own "task done" travel on different ports: the next part
        // is queued once both have come, so that piscina sees that worker free again rather than
        // starting another worker for it (which an idle server would then keep for idle_timeout_ms).
        else if (job.partSettled) this.#runPart(job, this.#task(job.id, job.kind, next, job.voice, job.cancel));
        else job.next = this.#task(job.id, job.kind, next, job.voice, job.cancel);
        return;
      }
      case 'error':
        this.#finish(job, new AppError(message.kind as ErrorKind, message.message));
        return;
    }
    const resume = job.wake;
    job.wake = undefined;
    resume?.();
  }
}
