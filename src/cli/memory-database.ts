import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import { createMemoryStore } from '../memory/create-memory-store.js';
import type { MemoryBackend } from '../memory/store.js';
import { ExitCode, type CliContext } from './command.js';

/**
 * Opens the configured memory database for one operation of `nexy <command>` (forget, token),
 * runs `work` on it and closes it. A database that cannot be opened, or fails in `work`: one line
 * on stderr with the safe message and the database's own reason, and exit code 3.
 */
export async function withMemoryDatabase(
  command: string,
  section: Config['memory_management'],
  context: CliContext,
  work: (store: MemoryBackend) => Promise<number>,
): Promise<number> {
  let store;
  try {
    store = await createMemoryStore(section);
  } catch (error) {
    context.stderr.write(`nexy ${command}: ${describe(error)}\n`);
    return ExitCode.serverError;
  }
  try {
    return await work(store);
  } catch (error) {
    context.stderr.write(`nexy ${command}: ${describe(error)}\n`);
    return ExitCode.serverError;
  } finally {
    await store.close();
  }
}

/** One line: the safe message, and the database's own reason (a path, a refused connection). */
function describe(error: unknown): string {
  if (!(error instanceof AppError)) return 'internal error';
  const cause = error.cause instanceof Error && error.cause.message !== '' ? ` (${error.cause.message.split('\n')[0]})` : '';
  return `${error.message}${cause}`;
}
