import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

export interface ProcessGuardHooks {
  /** Counts an internal error (metrics). */
  readonly onInternalError?: () => void;
  /** An uncaught exception: the process state is unknown, so it drains and exits with this code. */
  readonly onFatal: (code: number) => void;
}

/**
 * Process-level safety net of `nexy serve`. An unhandled promise rejection is a bug, but a
 * contained one (nothing was left half-done on the stack): it is logged as an internal error
 * with its stack, counted, and the server goes on serving. An uncaught exception may have left
 * state half-changed: it is logged as fatal and the server drains and exits (`onFatal`).
 * Not installed by `startServer`: in tests such events must stay visible to the test runner,
 * which fails the file on them.
 */
export function installProcessGuards(proc: EventEmitter, logger: Logger, hooks: ProcessGuardHooks): () => void {
  const onRejection = (reason: unknown) => {
    hooks.onInternalError?.();
    logger.error({ err: reason, kind: 'internal' }, 'unhandled promise rejection (a bug): logged, the server goes on');
  };
  let fatal = false;
  const onException = (error: unknown) => {
    hooks.onInternalError?.();
    logger.fatal({ err: error, kind: 'internal' }, 'uncaught exception (a bug): draining and exiting');
    if (fatal) return;
    fatal = true;
    hooks.onFatal(1);
  };
  proc.on('unhandledRejection', onRejection);
  proc.on('uncaughtException', onException);
  return () => {
    proc.off('unhandledRejection', onRejection);
    proc.off('uncaughtException', onException);
  };
}
