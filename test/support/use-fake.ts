import { after, before, beforeEach } from 'node:test';

/**
 * A local fake for the enclosing suite: started before it, reset before each test, closed after.
 * Returns the getter (the fake exists only once the suite runs).
 */
export function useFake<F extends { reset(): void; close(): Promise<void> }>(start: () => Promise<F>): () => F {
  let fake: F | undefined;
  before(async () => {
    fake = await start();
  });
  beforeEach(() => fake?.reset());
  after(() => fake?.close());
  return () => {
    if (fake === undefined) throw new Error('the fake is started by the suite: use it inside a test');
    return fake;
  };
}
