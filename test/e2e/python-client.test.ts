import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startTestServer, testConfig, type TestServer } from '../support/harness.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const ROOT = join(import.meta.dirname, '../..');

/** Debian's python3-grpcio, python3-protobuf and protobuf-compiler; .ci/run installs them. */
function pythonClientAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { stdio: 'ignore' });
    execFileSync('protoc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const available = pythonClientAvailable();
if (!available && process.env.CI) throw new Error('CI must have the Python gRPC client (python3-grpcio, protobuf-compiler)');

interface Seen {
  kinds: Array<string | [string, string]>;
  audio: Array<{ bytes: number; dtype: string; shape: number[]; sample_rate: number; channels: number; silent: boolean }>;
  code: string;
  session_header: string | null;
}

describe('an independent Python client compiled from the proto', { skip: available ? false : 'python3-grpcio or protoc missing' }, () => {
  let t: TestServer;
  let report: Record<string, Seen> & { interrupt: { success: boolean; sessions: string[] }; welcome: unknown[] };
  before(async () => {
    t = await startTestServer(testConfig());
    const { stdout } = await run(PYTHON, [join(ROOT, 'test/python/contract_client.py'), join(ROOT, 'proto/streaming.proto'), t.address]);
    report = JSON.parse(stdout);
  });
  after(() => t?.close());

  test('COLLECT is answered with collect_ok and the session header', () => {
    assert.deepEqual(report.collect.kinds, [['end_message', 'collect_ok']]);
    assert.equal(report.collect.code, 'OK');
    assert.equal(report.collect.session_header, '3b2f6c1e-9d4a-4f7b-8c2d-1a2b3c4d5e6f');
  });

  test('COMMIT streams text, 48 kHz mono int16 audio with matching shapes, and completed', () => {
    const { kinds, audio, code } = report.commit;
    assert.equal(code, 'OK');
    assert.deepEqual(kinds.at(-1), ['end_message', 'completed']);
    assert.equal((kinds[0] as [string, string])[0], 'text_chunk');
    assert.ok(audio.length > 0);
    for (const chunk of audio) {
      assert.equal(chunk.dtype, 'int16');
      assert.equal(chunk.sample_rate, 48000);
      assert.equal(chunk.channels, 1);
      assert.deepEqual(chunk.shape, [chunk.bytes / 2]);
      assert.equal(chunk.silent, false);
    }
  });

  test('a request without phase (old client) is a COMMIT with a generated session id', () => {
    assert.equal(report.legacy.code, 'OK');
    assert.deepEqual(report.legacy.kinds.at(-1), ['end_message', 'completed']);
    assert.match(report.legacy.session_header ?? '', /^[0-9a-f-]{36}$/);
  });

  test('invalid input: one error_message and INVALID_ARGUMENT', () => {
    assert.equal(report.invalid.code, 'INVALID_ARGUMENT');
    assert.equal(report.invalid.kinds.length, 1);
    assert.equal((report.invalid.kinds[0] as [string, string])[0], 'error_message');
  });

  test('InterruptSession and GenerateWelcomeAudio answer in the contract shape', () => {
    assert.equal(report.interrupt.success, true);
    assert.deepEqual(report.interrupt.sessions, []);
    const [first, ...rest] = report.welcome as Array<string | [string, Record<string, unknown>]>;
    assert.equal((first as [string, Record<string, unknown>])[0], 'metadata');
    assert.equal((first as [string, Record<string, unknown>])[1].sample_rate, 48000);
    assert.equal(rest.at(-1), 'end_message');
    assert.ok(rest.slice(0, -1).every((k) => k === 'audio_chunk') && rest.length > 1);
  });
});
