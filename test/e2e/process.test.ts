import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

const BIN = join(import.meta.dirname, '../../bin/nexy.mjs');

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-process-'));
  const path = join(dir, 'override.yaml');
  writeFileSync(path, text.replaceAll('$DIR', dir));
  return path;
}

test('`nexy serve` listens, answers /health, and exits 0 on SIGTERM after a graceful stop', async () => {
  const config = configFile(
    'grpc: { host: 127.0.0.1, port: 0 }\nhttp: { host: 127.0.0.1, port: 0 }\nmemory_management: { sqlite: { path: $DIR/nexy.sqlite } }\n',
  );
  const child = spawn(process.execPath, [BIN, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', GEMINI_API_KEY: '' } });
  const exited = once(child, 'exit');
  const lines: string[] = [];
  let listening: { grpc_port: number; http_port: number } | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(line);
    const entry = JSON.parse(line) as { msg: string; grpc_port: number; http_port: number };
    if (entry.msg === 'server listening') {
      listening = entry;
      break;
    }
  }
  assert.ok(listening, lines.join('\n'));
  const res = await fetch(`http://127.0.0.1:${listening.http_port}/health`);
  assert.equal(res.status, 200);
  assert.ok(lines.some((l) => /no language model configured/.test(l)), 'the degraded mode is logged clearly');
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0);
});

test('an invalid configuration lists every problem and exits 2', async () => {
  const config = configFile('grpc: { port: "not a port" }\naudio_generation: { sample_rate: 1 }\n');
  const child = spawn(process.execPath, [BIN, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = await once(child, 'exit');
  assert.equal(code, 2);
  assert.match(stderr, /grpc\.port/);
  assert.match(stderr, /audio_generation\.sample_rate/);
});

test('unknown commands and options are bad usage: exit 2', async () => {
  for (const args of [['frobnicate'], ['serve', '--no-such-option']]) {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const [code] = await once(child, 'exit');
    assert.equal(code, 2, args.join(' '));
  }
});
