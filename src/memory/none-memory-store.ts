import { EMPTY_CONTEXT, type MemoryBackend, type MemoryContext, type PruneResult } from './store.js';

/** `backend: none`: remembers nothing, so every turn starts without context. */
export class NoneMemoryStore implements MemoryBackend {
  readonly name = 'none';

  context(): Promise<MemoryContext> {
    return Promise.resolve(EMPTY_CONTEXT);
  }

  saveTurn(): Promise<void> {
    return Promise.resolve();
  }

  saveUsage(): Promise<void> {
    return Promise.resolve();
  }

  forget(): Promise<void> {
    return Promise.resolve();
  }

  addFacts(): Promise<void> {
    return Promise.resolve();
  }

  setSummary(): Promise<void> {
    return Promise.resolve();
  }

  prune(): Promise<PruneResult> {
    return Promise.resolve({ turns: 0, usage: 0 });
  }

  /** Always ready: there is nothing to reach. */
  ping(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
