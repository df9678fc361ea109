import { availableParallelism } from 'node:os';

/**
 * How many synthesis workers run, and when (`audio_generation.synthesis_workers`). Each worker
 * holds its own eSpeak engine: with the WASM build that is tens of MB, so an idle server keeps only
 * `idleWorkers` loaded and warm, the pool starts more while jobs wait (up to `workers`, so a busy
 * server still uses every core), and a worker beyond `idleWorkers` stops after `idleTimeoutMs`
 * without a job. A worker takes jobs only once its engine is loaded and warm
 * (src/audio/synthesis-worker.ts): a job never waits behind a cold start while a warm worker frees.
 */
export interface PoolSizingOptions {
  /** Most worker threads, reached under load; 0: one per available core. */
  readonly workers: number;
  /** Threads kept warm while idle (at most `workers`). Absent: all of them, always. */
  readonly idleWorkers?: number;
  /** A thread beyond `idleWorkers` stops after this long without a job. */
  readonly idleTimeoutMs?: number;
  /** V8's young generation of each worker, MB; absent: V8's default (it grows to tens of MB). */
  readonly youngGenerationMb?: number;
}

/** Piscina's three settings for it. */
export interface PoolSizing {
  readonly minThreads: number;
  readonly maxThreads: number;
  /** Milliseconds; `Infinity` when the pool never shrinks. */
  readonly idleTimeout: number;
  readonly resourceLimits: { readonly maxYoungGenerationSizeMb?: number };
}

export function poolSizing(options: PoolSizingOptions, cores: number = availableParallelism()): PoolSizing {
  const maxThreads = options.workers > 0 ? options.workers : cores;
  // More idle workers than the most the pool may run means all of them (count: 0 on a small host).
  const minThreads = Math.min(options.idleWorkers ?? maxThreads, maxThreads);
  const idleTimeout = minThreads === maxThreads ? Number.POSITIVE_INFINITY : (options.idleTimeoutMs ?? Number.POSITIVE_INFINITY);
  // A worker's garbage is short-lived (blocks of samples, messages): a small young generation is
  // collected often and cheaply, where V8's default keeps its high-water mark committed while idle.
  const resourceLimits = options.youngGenerationMb === undefined ? {} : { maxYoungGenerationSizeMb: options.youngGenerationMb };
  return { minThreads, maxThreads, idleTimeout, resourceLimits };
}

/** What piscina tells a load balancer about a worker (the fields used here). */
interface BalancedWorker {
  readonly id: number;
  readonly currentUsage: number;
}

/**
 * Piscina's balancer, one job per worker, choosing only among warm workers (`warm`: their
 * thread ids). Piscina's own balancer may hand a queued job to a worker still loading its engine
 * (when another worker frees or warms up), where it would wait for the load though a warm worker
 * is free; a worker counts as warm once piscina reports it ready (`workerCreate`).
 */
export function warmWorkerBalancer(warm: ReadonlySet<number>): <W extends BalancedWorker>(task: unknown, workers: W[]) => W | null {
  return (_task, workers) => workers.find((worker) => worker.currentUsage === 0 && warm.has(worker.id)) ?? null;
}
