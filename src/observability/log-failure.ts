import type { Logger } from 'pino';
import { toAppError } from '../errors.js';

/** The cause's name and message, short: what a failure line says instead of a stack. */
export function causeText(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  if (cause === undefined) return undefined;
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text.slice(0, 200);
}

/**
 * One line for a failure: with its stack only when it is internal (a bug); any other kind (a
 * store down, a timeout) says its kind, reason and cause in a line, as it may repeat for every
 * request while a dependency is away.
 */
export function logFailure(log: Logger, error: unknown, message: string, fields: Record<string, unknown> = {}): void {
  const app = toAppError(error);
  if (app.kind === 'internal') log.error({ ...fields, err: error, kind: app.kind }, message);
  else log.warn({ ...fields, kind: app.kind, reason: app.message, cause: causeText(app) }, message);
}
