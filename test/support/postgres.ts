import pg from 'pg';

/** The PostgreSQL the tests use: the machine's server, database `test` (override: NEXY_TEST_PG_URL). */
export const PG_URL = process.env.NEXY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// Generous: a loaded CI machine can take seconds to accept a connection; a dead server refuses at once.
const CONNECT_TIMEOUT_MS = 10_000;

/** Runs `work` on a fresh connection to {@link PG_URL}, closed afterwards. */
export async function withPg<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Undefined when a server answers, else why not. */
export async function probePostgres(): Promise<string | undefined> {
  try {
    await withPg((client) => client.query('select 1'));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  }
}
