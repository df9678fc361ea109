import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import SqliteDatabase from 'better-sqlite3';
import { ManualClock } from '../../src/admission/clock.js';
import { hashToken, TokenStore } from '../../src/auth/token-store.js';
import { NexyClient, NexyClientError } from '../../src/client/nexy-client.js';
import type { CliContext } from '../../src/cli/command.js';
import { token } from '../../src/cli/token.js';
import { welcome } from '../../src/cli/welcome.js';
import { ConfigError } from '../../src/config/load.js';
import { createMemoryStore } from '../../src/memory/create-memory-store.js';
import { SqlMemoryStore } from '../../src/memory/sql-memory-store.js';
import { RequestPhase, type InterruptResponse, type StreamRequest, type UsageRequest, type UsageResponse } from '../../src/gen/streaming.js';
import { HARDWARE_ID, kinds, readStream, startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { PG_URL, probePostgres, withPg } from '../support/postgres.js';

/**
 * Device tokens (auth.mode token) over real gRPC: issued, listed and revoked with `nexy token`
 * on the server's own SQLite file, then used (or not) on all four RPCs.
 */

const OTHER_ID = 'OTHER-MAC-0004';

function capture(extra: Partial<CliContext> = {}): CliContext & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (c: string | Uint8Array) => ((out += String(c)), true) },
    stderr: { write: (c: string | Uint8Array) => ((err += String(c)), true) },
    signals: { on: () => process, off: () => process } as unknown as CliContext['signals'],
    ...extra,
    out: () => out,
    err: () => err,
  };
}

function withAuth(tokenText: string | undefined): Metadata {
  const metadata = new Metadata();
  if (tokenText !== undefined) metadata.set('authorization', `Bearer ${tokenText}`);
  return metadata;
}

function commit(sessionId: string, hardwareId = HARDWARE_ID): StreamRequest {
  return { prompt: 'hello', hardwareId, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 };
}

async function streamStatus(t: TestServer, request: StreamRequest, tokenText: string | undefined): Promise<{ code: number; kinds: string[] }> {
  const result = await readStream(t.client.streamAudio(request, withAuth(tokenText)));
  return { code: result.status.code, kinds: kinds(result.messages) };
}

async function welcomeStatus(t: TestServer, tokenText: string | undefined): Promise<number> {
  return (await readStream(t.client.generateWelcomeAudio({ text: '', voice: '', language: '', sessionId: '' }, withAuth(tokenText)))).status.code;
}

async function unaryStatus(call: Promise<unknown>): Promise<number> {
  return call.then(
    () => status.OK,
    (error: ServiceError) => error.code,
  );
}

function interrupt(t: TestServer, hardwareId: string, tokenText: string | undefined): Promise<number> {
  const fn = promisify<{ hardwareId: string }, Metadata, InterruptResponse>(t.client.interruptSession.bind(t.client));
  return unaryStatus(fn({ hardwareId }, withAuth(tokenText)));
}

function usage(t: TestServer, hardwareId: string, tokenText: string | undefined): Promise<number> {
  const fn = promisify<UsageRequest, Metadata, UsageResponse>(t.client.reportUsage.bind(t.client));
  return unaryStatus(fn({ hardwareId, sessionId: '', source: 'app', inputTokens: 1, outputTokens: 1, model: 'm' }, withAuth(tokenText)));
}

describe('device tokens (auth.mode token)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-tokens-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = join(dir, 'nexy.sqlite');
  const overridePath = join(dir, 'override.yaml');
  writeFileSync(overridePath, `memory_management: { backend: sqlite, sqlite: { path: ${JSON.stringify(dbPath)} } }\n`);
  const clock = new ManualClock();
  const config = testConfig({ memory_management: { backend: 'sqlite', sqlite: { path: dbPath }, updater: { enabled: false } }, auth: { mode: 'token', cache_ttl_ms: 30_000 } });
  let t: TestServer;
  let device = '';
  let operator = '';
  let deviceId = '';

  test('`nexy token issue` prints the token once; the database keeps only its hash; `list` never shows it', async () => {
    const issued = capture();
    assert.equal(await token.run(['issue', '--hardware-id', HARDWARE_ID, '--label', 'office mac', '--config', overridePath], issued), 0, issued.err());
    device = issued.out().trim();
    assert.match(device, /^nexy_[A-Za-z0-9_-]{43}$/);
    deviceId = /issued (tok_[0-9a-f]+) for 1 device/.exec(issued.err())?.[1] ?? '';
    assert.notEqual(deviceId, '', issued.err());
    const any = capture();
    assert.equal(await token.run(['issue', '--any-hardware-id', '--label', 'operator', '--config', overridePath], any), 0, any.err());
    operator = any.out().trim();

    const db = new SqliteDatabase(dbPath, { readonly: true });
    try {
      const rows = db.prepare('select * from device_tokens').all() as Array<Record<string, unknown>>;
      assert.equal(rows.length, 2);
      assert.deepEqual(rows.map((r) => r.token_hash).sort(), [hashToken(device), hashToken(operator)].sort());
      assert.ok(!JSON.stringify(rows).includes(device) && !JSON.stringify(rows).includes(operator), 'no plain token stored');
      assert.ok(!JSON.stringify(rows).includes(HARDWARE_ID), 'hardware ids are stored as keys (hashed), like the memory');
    } finally {
      db.close();
    }
    const listed = capture();
    assert.equal(await token.run(['list', '--config', overridePath], listed), 0);
    assert.match(listed.out(), new RegExp(`${deviceId}\tactive\tdevices: 1\t.*\toffice mac`));
    assert.match(listed.out(), /active\tdevices: any\t.*\toperator/);
    assert.ok(!listed.out().includes(device));

    t = await startTestServer(config, { clock });
  });

  test('no token, or one never issued: UNAUTHENTICATED on every RPC (StreamAudio with its one error_message)', async () => {
    for (const bad of [undefined, 'nexy_not-a-real-token']) {
      assert.deepEqual(await streamStatus(t, commit('no-token'), bad), { code: status.UNAUTHENTICATED, kinds: ['errorMessage'] });
      const collect = { ...commit('no-token-collect'), phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: 1, chunkText: 'hi', prompt: '' };
      assert.equal((await streamStatus(t, collect, bad)).code, status.UNAUTHENTICATED);
      assert.equal(await welcomeStatus(t, bad), status.UNAUTHENTICATED);
      assert.equal(await interrupt(t, HARDWARE_ID, bad), status.UNAUTHENTICATED);
      assert.equal(await usage(t, HARDWARE_ID, bad), status.UNAUTHENTICATED);
    }
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    assert.match(metrics, /nexy_auth_failures_total\{rpc="StreamAudio",reason="missing"\} 2/);
    assert.match(metrics, /nexy_auth_failures_total\{rpc="GenerateWelcomeAudio",reason="invalid"\} 1/);
  });

  test("a device's token acts for its own hardware id only: PERMISSION_DENIED for another on stream, interrupt and usage; welcome needs just a token", async () => {
    const own = await streamStatus(t, commit('own'), device);
    assert.equal(own.code, status.OK);
    assert.equal(own.kinds.at(-1), 'endMessage');
    assert.equal(await interrupt(t, HARDWARE_ID, device), status.OK);
    assert.equal(await usage(t, HARDWARE_ID, device), status.OK);
    assert.equal(await welcomeStatus(t, device), status.OK);

    assert.deepEqual(await streamStatus(t, commit('other', OTHER_ID), device), { code: status.PERMISSION_DENIED, kinds: ['errorMessage'] });
    assert.equal(await interrupt(t, OTHER_ID, device), status.PERMISSION_DENIED);
    assert.equal(await usage(t, OTHER_ID, device), status.PERMISSION_DENIED);
    // A token for any device (an operator's) may.
    assert.equal(await interrupt(t, OTHER_ID, operator), status.OK);
  });

  test('the SDK and the CLI send the configured token (option, --token, NEXY_TOKEN)', async () => {
    const client = new NexyClient({ address: t.address, authToken: device });
    try {
      const events = [];
      for await (const event of client.streamAudio(commit('sdk'))) events.push(event.type);
      assert.equal(events.at(-1), 'end');
    } finally {
      client.close();
    }
    const anonymous = new NexyClient({ address: t.address });
    try {
      const error = await anonymous.interrupt(HARDWARE_ID).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof NexyClientError && error.code === status.UNAUTHENTICATED);
    } finally {
      anonymous.close();
    }

    const out = join(dir, 'hi.wav');
    const withEnv = capture({ defaultToken: device });
    assert.equal(await welcome.run(['--server', t.address, '--out', out], withEnv), 0, withEnv.err());
    const withFlag = capture();
    assert.equal(await welcome.run(['--server', t.address, '--out', out, '--token', operator], withFlag), 0, withFlag.err());
    const without = capture();
    assert.equal(await welcome.run(['--server', t.address, '--out', out], without), 3);
    assert.match(without.err(), /device token is required.*UNAUTHENTICATED/);
  });

  test('`nexy token revoke`: the token stops working once the server cache (auth.cache_ttl_ms) expires', async () => {
    const revoked = capture();
    assert.equal(await token.run(['revoke', deviceId, '--config', overridePath], revoked), 0, revoked.err());
    assert.equal(await interrupt(t, HARDWARE_ID, device), status.OK, 'still cached');
    clock.advance(30_000);
    assert.equal(await interrupt(t, HARDWARE_ID, device), status.UNAUTHENTICATED);
    assert.equal(await interrupt(t, HARDWARE_ID, operator), status.OK, 'other tokens are untouched');
    const again = capture();
    assert.equal(await token.run(['revoke', deviceId, '--config', overridePath], again), 3);
    const listed = capture();
    await token.run(['list', '--config', overridePath], listed);
    assert.match(listed.out(), new RegExp(`${deviceId}\trevoked `));
    await t.close();
  });
});

test('auth.mode token without a memory database is a configuration error', () => {
  assert.throws(() => testConfig({ auth: { mode: 'token' } }), (error: unknown) => error instanceof ConfigError && /auth\.mode/.test(error.message));
});

test('`nexy token` usage errors exit 2', async () => {
  for (const args of [['issue'], ['issue', '--hardware-id', 'unknown'], ['revoke'], ['frob'], []]) {
    const ctx = capture();
    await assert.rejects(token.run(args, ctx), { name: 'UsageError' }, args.join(' '));
  }
});

const pgProblem = await probePostgres();
describe('device token store on PostgreSQL', { skip: pgProblem === undefined ? undefined : `no PostgreSQL at ${PG_URL} (${pgProblem})` }, () => {
  const schema = `nexy_tokens_${process.pid}_${randomBytes(4).toString('hex')}`;
  after(() => withPg((client) => client.query(`drop schema if exists "${schema}" cascade`)));

  test('issue, look up, bind, list and revoke work the same as on SQLite', async () => {
    const section = testConfig({ memory_management: { backend: 'postgres', postgres: { url: PG_URL, schema } } }).memory_management;
    const memory = await createMemoryStore(section);
    try {
      assert.ok(memory instanceof SqlMemoryStore);
      const store = new TokenStore(memory.database.db, memory.database.keyOf);
      const issued = await store.issue({ label: 'pg mac', hardwareIds: [HARDWARE_ID], now: new Date() });
      const grant = await store.lookup(issued.token);
      assert.ok(grant);
      assert.ok(grant.hardwareKeys.has(store.keyOf(HARDWARE_ID)));
      assert.ok(!grant.hardwareKeys.has(store.keyOf(OTHER_ID)));
      assert.equal(await store.lookup(`${issued.token}x`), undefined);
      assert.deepEqual((await store.list()).map((t) => [t.id, t.devices, t.revokedAt === undefined]), [[issued.id, 1, true]]);
      assert.equal(await store.revoke(issued.id, new Date()), true);
      assert.equal(await store.lookup(issued.token), undefined);
      assert.equal(await store.revoke(issued.id, new Date()), false);
    } finally {
      await memory.close();
    }
  });
});
