import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { grpcHealth } from '../support/health.js';

/**
 * deploy/systemd/nexy.service, run the way systemd would: its ExecStart split into words (no
 * shell) with the install paths replaced by this checkout, its Environment= lines and an
 * EnvironmentFile= written here, its WorkingDirectory. It must start the compiled server (dist/,
 * built by the test runner), answer /health and a gRPC health check, and stop on SIGTERM (its
 * KillSignal) with exit 0 well within TimeoutStopSec.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const UNIT = join(ROOT, 'deploy/systemd/nexy.service');

/** `Key=value` lines of the [Service] section, in order (keys may repeat). */
function serviceEntries(text: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]') {
      const eq = line.indexOf('=');
      entries.push([line.slice(0, eq), line.slice(eq + 1)]);
    }
  }
  return entries;
}

function one(entries: Array<[string, string]>, key: string): string {
  const values = entries.filter(([k]) => k === key).map(([, v]) => v);
  assert.equal(values.length, 1, `${key}= once in the unit`);
  return values[0]!;
}

test('the systemd unit: ExecStart as written starts the compiled server; SIGTERM stops it with exit 0', async () => {
  const entries = serviceEntries(readFileSync(UNIT, 'utf8'));
  const installDir = one(entries, 'WorkingDirectory');
  const state = mkdtempSync(join(tmpdir(), 'nexy-systemd-'));
  // The install paths of the unit, replaced by this machine's: node, the checkout, the state dir.
  const substitute = (value: string) =>
    value.replaceAll('/usr/bin/node', process.execPath).replaceAll(installDir, ROOT).replaceAll('/var/lib/nexy', state);

  const argv = substitute(one(entries, 'ExecStart')).split(/\s+/);
  assert.ok(argv.includes(join(ROOT, 'bin/nexy.mjs')) && argv.at(-1) === 'serve', 'ExecStart runs bin/nexy.mjs serve');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const [key, value] of entries.filter(([k]) => k === 'Environment')) {
    const assignment = substitute(value);
    const eq = assignment.indexOf('=');
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  // The operator's EnvironmentFile: here only what the test needs (loopback, free ports, quiet).
  const envFile = join(state, 'nexy.env');
  const override = join(state, 'nexy.yaml');
  writeFileSync(override, 'grpc: { host: 127.0.0.1, port: 0 }\nhttp: { host: 127.0.0.1, port: 0 }\n');
  writeFileSync(envFile, `# secrets would live here\nNEXY_CONFIG=${override}\nOPENAI_API_KEY=\n`);
  assert.match(one(entries, 'EnvironmentFile'), /^-?\/etc\/nexy\/nexy\.env$/);
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }

  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    let ports: { grpc_port: number; http_port: number } | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      const entry = JSON.parse(line) as { msg: string; grpc_port: number; http_port: number };
      if (entry.msg === 'server listening') ports = entry;
      if (entry.msg === 'server ready') break;
    }
    assert.ok(ports, `the server started (stderr: ${stderr})`);
    assert.equal((await fetch(`http://127.0.0.1:${ports.http_port}/health`)).status, 200);
    assert.equal(await grpcHealth(`127.0.0.1:${ports.grpc_port}`), 'SERVING');
    // The memory database went where the unit's Environment= puts it.
    assert.ok(readFileSync(join(state, 'nexy.sqlite')).length > 0);
  } finally {
    child.kill(one(entries, 'KillSignal') as NodeJS.Signals);
  }
  const [code] = await exited;
  assert.equal(code, 0, stderr);
});

test('the systemd unit: TimeoutStopSec leaves a margin over the configured shutdown times', () => {
  const entries = serviceEntries(readFileSync(UNIT, 'utf8'));
  const timeoutS = Number(one(entries, 'TimeoutStopSec'));
  // Every server.shutdown_*_ms the server may spend before it exits (grace, abort wait, ...).
  const server = loadConfig({ env: {} }).server as Record<string, unknown>;
  const shutdownMs = Object.entries(server)
    .filter(([key, value]) => key.startsWith('shutdown_') && key.endsWith('_ms') && typeof value === 'number')
    .reduce((sum, [, value]) => sum + (value as number), 0);
  assert.ok(shutdownMs >= 5000);
  assert.ok(timeoutS * 1000 >= shutdownMs + 5000, `TimeoutStopSec=${timeoutS} s vs ${shutdownMs} ms of shutdown`);
  assert.equal(one(entries, 'RestartPreventExitStatus'), '2', 'a configuration error (exit 2) is not restarted');
});

test('the systemd unit passes systemd-analyze verify', async (t) => {
  const verify = promisify(execFile);
  try {
    await verify('systemd-analyze', ['--version']);
  } catch {
    t.skip('systemd-analyze is not installed');
    return;
  }
  // verify wants the ExecStart binary to exist: this machine's node stands in for /usr/bin/node.
  const dir = mkdtempSync(join(tmpdir(), 'nexy-unit-'));
  const unit = join(dir, 'nexy.service');
  writeFileSync(unit, readFileSync(UNIT, 'utf8').replaceAll('/usr/bin/node', process.execPath));
  const { stderr } = await verify('systemd-analyze', ['verify', unit]);
  assert.doesNotMatch(stderr, /nexy\.service/, stderr);
});
