import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import pg from 'pg';
import { defaultSection, memoryStoreSuite, type MemorySection, type TestDatabase } from './memory-store-suite.js';

// The machine's PostgreSQL (trust auth). NEXY_TEST_PG_URL points the suite elsewhere.
const PG_URL = process.env.NEXY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Generous: a loaded CI machine can take seconds to accept a connection; a dead server refuses at once.
const PG_PROBE_TIMEOUT_MS = 10_000;
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
      dump: () => withClient(async (client) => {
        const tables = await client.query<{ table_name: string }>('select table_name from information_schema.tables where table_schema = $1', [schema]);
        const parts: string[] = [];
        for (const { table_name: table } of tables.rows) {
          const rows = await client.query(`select * from "${schema}"."${table}"`);
          parts.push(JSON.stringify(rows.rows));
        }
        return parts.join('\n');
      }),
      dispose: () => withClient(async (client) => {
        await client.query(`drop schema if exists "${schema}" cascade`);
      }),
    };
  },
});

async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: PG_PROBE_TIMEOUT_MS });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Undefined when a server answers, else why not. */
async function probePostgres(): Promise<string | undefined> {
  try {
    await withClient((client) => client.query('select 1'));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  }
}
