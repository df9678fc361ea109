import { after, before, beforeEach } from 'node:test';

/**
 * A local fake for the enclosing suite: started before it, reset before each test (by default
 * with its own `reset()`), closed after. Returns the getter: the fake exists once the suite runs.
 */
export function useFake<F extends { close(): Promise<void> }>(
  start: () => Promise<F>,
  reset: (fake: F) => void = (fake) => (fake as { reset?: () => void }).reset?.(),
): () => F {
  let fake: F | undefined;
  before(async () => {
    fake = await start();
  });
  beforeEach(() => fake && reset(fake));
  after(() => fake?.close());
  return () => {
    if (fake === undefined) throw new Error('the fake is started by the suite: use it inside a test');
    return fake;
  };
}
