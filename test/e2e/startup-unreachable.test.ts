import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const BIN = join(import.meta.dirname, '../../bin/nexy.mjs');

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs `nexy serve` with an override and returns its exit code, log lines and stderr. */
async function serve(override: string): Promise<{ code: number | null; lines: Array<Record<string, unknown>>; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-unreachable-'));
  const path = join(dir, 'override.yaml');
  writeFileSync(path, `grpc: { host: 127.0.0.1, port: 0 }\nhttp: { host: 127.0.0.1, port: 0 }\n${override.replaceAll('$DIR', dir)}`);
  const child = spawn(process.execPath, [BIN, 'serve', '--config', path], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', GEMINI_API_KEY: '', REDIS_URL: '', DATABASE_URL: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const lines = stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, lines, stderr };
}

/** Exactly one error-level line, naming the service (`dependency`) and its URL with the password masked, no stack. */
function assertOneClearLine(result: Awaited<ReturnType<typeof serve>>, service: string, port: number): void {
  assert.equal(result.code, 1, JSON.stringify(result.lines));
  const errors = result.lines.filter((l) => l.level === 'error' || l.level === 'fatal');
  assert.equal(errors.length, 1, JSON.stringify(errors));
  const [line] = errors;
  assert.equal(line.dependency, service);
  assert.match(String(line.url), new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.match(String(line.url), /\*\*\*/);
  const all = JSON.stringify(result.lines) + result.stderr;
  assert.doesNotMatch(all, /s3cret/, 'the password never reaches the log');
  assert.doesNotMatch(all, /\n\s+at |"stack"/, 'no stack trace');
  assert.doesNotMatch(result.stderr, /Unhandled error event/);
}

test('Redis unreachable at start: one line naming redis and its masked URL, exit 1', async () => {
  const port = await closedPort();
  const result = await serve(
    `memory_management: { sqlite: { path: $DIR/m.sqlite } }\n` +
      `session_management: { backend: redis, redis: { url: "redis://:s3cret@127.0.0.1:${port}", connect_timeout_ms: 1000 } }\n`,
  );
  assertOneClearLine(result, 'redis', port);
});

test('PostgreSQL unreachable at start: one line naming postgresql and its masked URL, exit 1', async () => {
  const port = await closedPort();
  const result = await serve(
    `memory_management: { backend: postgres, postgres: { url: "postgres://nexy:s3cret@127.0.0.1:${port}/test", connect_timeout_ms: 1000 } }\n`,
  );
  assertOneClearLine(result, 'postgresql', port);
});
