import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { defaultSection, memoryStoreSuite, type MemorySection, type TestDatabase } from '../../test/support/memory-store-suite.js';
import { PG_URL, probePostgres, withPg } from '../../test/support/postgres.js';

// PostgreSQL: the machine's server (test/support/postgres.ts; NEXY_TEST_PG_URL points elsewhere).
const inCi = (process.env.CI ?? '') !== '';

function merge(base: MemorySection, overrides: Partial<MemorySection> = {}): MemorySection {
  return { ...base, ...overrides };
}

memoryStoreSuite({
  name: 'sqlite',
  sharedByInstances: false,
  fresh(): Promise<TestDatabase> {
    const dir = mkdtempSync(join(tmpdir(), 'nexy-memory-'));
    const path = join(dir, 'nested', 'nexy.sqlite');
    const base = defaultSection();
    const section: MemorySection = { ...base, backend: 'sqlite', sqlite: { ...base.sqlite, path } };
    return Promise.resolve({
      section: (overrides) => merge(section, overrides),
      // The raw bytes, WAL included, so that nothing stored can hide from the search.
      dump: () => Promise.resolve([path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p).toString('latin1')).join('\n')),
      dispose: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    });
  },
});

const pgProblem = await probePostgres();
if (pgProblem !== undefined && inCi) {
  it('PostgreSQL is reachable (required when CI is set)', () => {
    throw new Error(`cannot connect to ${PG_URL}: ${pgProblem}`);
  });
}

memoryStoreSuite({
  name: 'postgres',
  skip: pgProblem === undefined ? undefined : `no PostgreSQL at ${PG_URL} (${pgProblem})`,
  sharedByInstances: true,
  async fresh(): Promise<TestDatabase> {
    // A schema of its own per test, so parallel runs and other suites never collide.
    const schema = `nexy_test_${process.pid}_${randomBytes(6).toString('hex')}`;
    const base = defaultSection();
    const section: MemorySection = { ...base, backend: 'postgres', postgres: { ...base.postgres, url: PG_URL, schema } };
    return {
      section: (overrides) => merge(section, overrides),
      dump: () => withPg(async (client) => {
        const tables = await client.query<{ table_name: string }>('select table_name from information_schema.tables where table_schema = $1', [schema]);
        const parts: string[] = [];
        for (const { table_name: table } of tables.rows) {
          const rows = await client.query(`select * from "${schema}"."${table}"`);
          parts.push(JSON.stringify(rows.rows));
        }
        return parts.join('\n');
      }),
      dispose: () => withPg(async (client) => {
        await client.query(`drop schema if exists "${schema}" cascade`);
      }),
    };
  },
});

