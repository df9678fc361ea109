/** One clean-up step: a name for the log and the work. */
export type Step = readonly [name: string, run: () => unknown];

/**
 * Runs every step in order, each awaited, whatever the ones before did: a failing step is handed
 * to `onError` and the next one still runs. For clean-up (the end of a turn, shutdown), where one
 * failure (a Redis release, a database close) must not skip the rest.
 */
export async function runEvery(steps: readonly Step[], onError: (step: string, error: unknown) => void): Promise<void> {
  for (const [name, run] of steps) {
    try {
      await run();
    } catch (error) {
      try {
        onError(name, error);
      } catch {
        // Reporting must not stop the clean-up either.
      }
    }
  }
}
