import { AppError, onAbort, toAppError } from '../errors.js';

/**
 * Work ahead, hand out in order: items come from a source read by its own task, each item's job
 * (an async iterable of results) starts before the consumer reaches it, and the consumer still
 * sees item 1 and all its results, then item 2, and so on. The speech pipeline uses it to
 * synthesize the next sentences while the current one is being written to a slow client.
 *
 * Bounds: at most `limit` jobs exist at once (the one being read included), each buffering only
 * its own results, and at most `pending` items wait to start; past that the source is not read.
 */

/** Options of {@link orderedLookahead}. */
export interface LookaheadOptions {
  /** Jobs running or buffered at once, the one being read included; at least 1. */
  readonly limit: number;
  /** Items taken from the source that wait for a job slot; past it the source waits. At least 1. */
  readonly pending: number;
  /** Aborting stops the source and every job; the consumer's next read throws the reason. */
  readonly signal: AbortSignal;
  /**
   * Milliseconds until a job may start ahead of the reader (0: now), asked before each such
   * start: the speech pipeline's look-ahead in seconds of audio. The job the reader waits for
   * is never held back. Absent: only `limit` bounds the jobs.
   */
  readonly aheadAfterMs?: () => number;
}

/** One item and its job's results, handed out in source order. */
export interface Lane<T, R> {
  readonly item: T;
  /**
   * The job's results in order; throws the job's error after the results before it. Read it to
   * the end before asking for the next lane: asking for the next lane stops this job.
   */
  readonly results: AsyncIterable<R>;
}

/** Resolves every waiter on `notify`; a wait ends early, rejected, when its signal aborts. */
class Wakeup {
  #waiters: Array<() => void> = [];

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(toAppError(signal.reason, signal));
        return;
      }
      const unlink = onAbort(signal, () => reject(toAppError(signal.reason, signal)));
      this.#waiters.push(() => {
        unlink();
        resolve();
      });
    });
  }
}

interface Job<T, R> {
  readonly item: T;
  readonly controller: AbortController;
  readonly buffer: R[];
  /** It produced its first result or ended: the next job may start. */
  begun: boolean;
  done: boolean;
  failed: boolean;
  error: unknown;
}

/**
 * Reads `source` on its own task and runs `run(item)` for up to `limit` items at once, while the
 * caller gets the items and their results strictly in source order. A job starts once the job
 * before it has produced its first result (or ended): the earliest item's first result never
 * competes with the work behind it, which is what a listener waits for. An error of the source
 * surfaces after every item read before it; an error of a job when its lane is read. Returning
 * early (or an error) stops the source and every job; nothing is left to reject unhandled.
 * `run` learns whether its job starts `ahead` of the reader (behind jobs still being read) or
 * is the one the reader waits for.
 */
export async function* orderedLookahead<T, R>(
  source: (signal: AbortSignal) => AsyncIterable<T>,
  run: (item: T, signal: AbortSignal, ahead: boolean) => AsyncIterable<R>,
  options: LookaheadOptions,
): AsyncGenerator<Lane<T, R>> {
  const { limit, pending } = options;
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError('limit must be an integer >= 1');
  if (!(Number.isInteger(pending) && pending >= 1)) throw new RangeError('pending must be an integer >= 1');
  const controller = new AbortController();
  const unfollow = onAbort(options.signal, (reason) => controller.abort(reason));
  const signal = controller.signal;
  const changed = new Wakeup();
  const queue: T[] = [];
  /** Started jobs in item order; the first is the one being read. */
  const active: Array<Job<T, R>> = [];
  const from = { done: false, failed: false, error: undefined as unknown };

  const start = (item: T, ahead: boolean): Job<T, R> => {
    const job: Job<T, R> = { item, controller: new AbortController(), buffer: [], begun: false, done: false, failed: false, error: undefined };
    const unlink = onAbort(signal, (reason) => job.controller.abort(reason));
    void (async () => {
      try {
        for await (const result of run(item, job.controller.signal, ahead)) {
          job.buffer.push(result);
          if (!job.begun) {
            job.begun = true;
            fill();
          }
          changed.notify();
        }
      } catch (error) {
        job.failed = true;
        job.error = error;
      } finally {
        unlink();
        job.done = job.begun = true;
        fill();
        changed.notify();
      }
    })();
    return job;
  };

  /** A look-ahead start put off by `aheadAfterMs`: `fill` runs again when it is due. */
  let retry: NodeJS.Timeout | undefined;

  /** Starts waiting items while a slot is free and the newest job has begun (none after a failure). */
  function fill(): void {
    while (queue.length > 0 && active.length < limit && !signal.aborted) {
      const newest = active.at(-1);
      if (newest !== undefined && (!newest.begun || newest.failed)) return;
      if (newest !== undefined && options.aheadAfterMs !== undefined) {
        const wait = options.aheadAfterMs();
        if (wait > 0) {
          if (retry === undefined) {
            retry = setTimeout(() => {
              retry = undefined;
              fill();
            }, Math.ceil(wait));
          }
          return;
        }
      }
      active.push(start(queue.shift() as T, newest !== undefined));
      changed.notify();
    }
  }

  void (async () => {
    try {
      for await (const item of source(signal)) {
        queue.push(item);
        fill();
        changed.notify();
        while (queue.length >= pending) await changed.wait(signal);
      }
    } catch (error) {
      from.failed = true;
      from.error = error;
    } finally {
      from.done = true;
      changed.notify();
    }
  })();

  /** Nothing more comes out once aborted, not even what is already buffered. */
  const stopIfAborted = (): void => {
    if (signal.aborted) throw toAppError(signal.reason, signal);
  };

  async function* results(job: Job<T, R>): AsyncGenerator<R> {
    for (;;) {
      stopIfAborted();
      if (job.buffer.length > 0) {
        yield job.buffer.shift() as R;
        continue;
      }
      if (job.done) {
        if (job.failed) throw job.error;
        return;
      }
      await changed.wait(signal);
    }
  }

  try {
    for (;;) {
      while (active.length === 0 && queue.length === 0 && !from.done) await changed.wait(signal);
      stopIfAborted();
      fill();
      const job = active[0];
      if (job === undefined) {
        if (from.failed) throw from.error;
        return;
      }
      yield { item: job.item, results: results(job) };
      active.shift();
      if (!job.done) job.controller.abort(new AppError('interrupted', 'the lane was left before its end'));
      job.buffer.length = 0;
      fill();
    }
  } finally {
    clearTimeout(retry);
    if (!signal.aborted) controller.abort(new AppError('interrupted', 'the reader stopped'));
    unfollow();
  }
}
