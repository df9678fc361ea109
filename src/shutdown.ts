import type { Logger } from 'pino';
import { AppError } from './errors.js';
import type { NexyService } from './pipeline/nexy-service.js';
import { runEvery, type Step } from './pipeline/run-every.js';

export interface ShutdownParts {
  readonly logger: Logger;
  readonly service: NexyService;
  /** Runs first, before anything else stops (e.g. a start-up warm-up still running). */
  readonly onBegin?: () => void;
  /** `server.shutdown_grace_ms`: how long running answers may take to finish. */
  readonly graceMs: number;
  /** `server.shutdown_abort_wait_ms`: how long aborted answers may take to end before calls are cut. */
  readonly abortWaitMs: number;
  readonly grpc: {
    /** Every health service the gRPC server reports, set NOT_SERVING at once. */
    readonly health: { setStatus(service: string, status: 'SERVING' | 'NOT_SERVING'): void };
    readonly healthServices: readonly string[];
    /** Cuts every gRPC call still open (grpc-js `forceShutdown`). */
    forceClose(): void;
  };
  /** Waits for work that outlives a turn (memory writes), before the stores close. */
  readonly beforeCleanup: readonly Step[];
  /** Closing the ports and stores, in the order given; each runs even if one before fails. */
  readonly cleanups: readonly Step[];
}

/** Resolves after `ms` or when `promise` settles, whichever is first; true when it settled. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/**
 * The drain on SIGTERM, as one idempotent function:
 * 1. new COMMITs are refused (UNAVAILABLE), every health service says NOT_SERVING and /ready 503
 *    (its `server` check reads `service.draining`); COLLECT, welcome and the rest still answer;
 * 2. running answers may finish within `graceMs`;
 * 3. what is left is aborted (a stream with nothing sent yet ends UNAVAILABLE, one with data a
 *    quiet stop), given `abortWaitMs` to end, then any call still open is cut;
 * 4. pending memory writes are awaited, then every clean-up step runs, each even if one fails.
 */
export function createShutdown(parts: ShutdownParts): () => Promise<void> {
  const { logger, service } = parts;
  let stopping: Promise<void> | undefined;
  const onError = (step: string, error: unknown) => logger.error({ err: error, step }, 'shutdown step failed');
  return () =>
    (stopping ??= (async () => {
      logger.info({ active_turns: service.activeTurns, grace_ms: parts.graceMs }, 'shutting down: draining');
      parts.onBegin?.();
      service.beginDrain();
      for (const name of parts.grpc.healthServices) parts.grpc.health.setStatus(name, 'NOT_SERVING');
      if (!(await within(service.whenIdle(), parts.graceMs))) {
        logger.warn({ active_turns: service.activeTurns }, 'shutdown grace over: aborting the answers still running');
        service.abortRunning(new AppError('unavailable', 'the server is shutting down'));
        if (!(await within(service.whenIdle(), parts.abortWaitMs))) {
          logger.warn({ active_turns: service.activeTurns }, 'answers did not end after the abort: cutting their calls');
        }
      }
      // From here no call may hold the gRPC port's close open.
      const force = setTimeout(() => parts.grpc.forceClose(), parts.abortWaitMs).unref();
      await runEvery([...parts.beforeCleanup, ...parts.cleanups], onError);
      clearTimeout(force);
      logger.info('stopped');
    })());
}
