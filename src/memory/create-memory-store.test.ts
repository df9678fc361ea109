import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../errors.js';
import { createMemoryStore } from './create-memory-store.js';
import { defaultSection } from '../../test/support/memory-store-suite.js';
import { EMPTY_CONTEXT } from './store.js';

const BUDGET = { maxTurns: 12, maxChars: 6000 };

describe('createMemoryStore', () => {
  it('backend none remembers nothing', async () => {
    const store = await createMemoryStore({ ...defaultSection(), backend: 'none' });
    assert.equal(store.name, 'none');
    await store.saveTurn({
      hardwareId: 'HW-A',
      sessionId: 's',
      userText: 'my name is Alex',
      assistantText: 'Hi Alex',
      interrupted: false,
      startedAt: new Date(),
      endedAt: new Date(),
      provider: 'scripted',
    });
    await store.addFacts('HW-A', ["User's name is Alex"]);
    await store.setSummary('HW-A', 'Summary.');
    assert.deepEqual(await store.context('HW-A', BUDGET), EMPTY_CONTEXT);
    assert.deepEqual(await store.prune(new Date()), { turns: 0, usage: 0 });
    assert.equal(await store.ping?.(), undefined);
    await store.forget('HW-A');
    await store.close();
  });

  it('backend sqlite opens the configured file, creating its directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexy-memory-factory-'));
    try {
      const base = defaultSection();
      const store = await createMemoryStore({ ...base, backend: 'sqlite', sqlite: { ...base.sqlite, path: join(dir, 'a', 'b', 'm.sqlite') } });
      assert.equal(store.name, 'sqlite');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unreachable PostgreSQL rejects with unavailable', async () => {
    const base = defaultSection();
    // Port 1 is reserved (tcpmux) and closed on any ordinary machine: refused at once.
    const section = { ...base, backend: 'postgres' as const, postgres: { ...base.postgres, url: 'postgres://postgres@127.0.0.1:1/none' } };
    await assert.rejects(createMemoryStore(section), (e: unknown) => e instanceof AppError && e.kind === 'unavailable');
  });
});
