import type { Logger } from 'pino';
import type { AppError } from './errors.js';

/**
 * The start-up work after the ports opened (`RunningServer.ready`): until it is done /ready says
 * what is missing and gRPC health NOT_SERVING, while requests are already served. A shutdown
 * that begins meanwhile stops it, and its NOT_SERVING stays.
 */
export class WarmUp {
  readonly #logger: Logger;
  readonly #controller = new AbortController();
  #problem: string | undefined = 'the speech engine is warming up';

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** What /ready reports as missing; undefined once the warm-up is done. */
  problem(): string | undefined {
    return this.#problem;
  }

  /** Shutdown began: a warm-up still running stops at its next step. */
  abort(reason: AppError): void {
    this.#controller.abort(reason);
  }

  /**
   * Runs `work` (given a signal that shutdown aborts), then `onReady` unless shutdown began.
   * The promise rejects when the work failed (an engine that cannot load): the server stays
   * unready and the caller decides (`nexy serve` exits 1).
   */
  run(work: (signal: AbortSignal) => Promise<void>, onReady: () => void): Promise<void> {
    const { signal } = this.#controller;
    const ready = (async () => {
      await work(signal);
      signal.throwIfAborted();
      this.#problem = undefined;
      onReady();
      this.#logger.info('server ready');
    })();
    ready.catch((error: unknown) => {
      this.#problem = 'the start-up warm-up failed (see the log)';
      if (!signal.aborted) this.#logger.error({ err: error }, 'start-up warm-up failed');
    });
    return ready;
  }
}
