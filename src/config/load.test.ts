import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './load.js';

function tempFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'nexy-config-')), 'override.yaml');
  writeFileSync(path, text);
  return path;
}

test('the shipped file loads with no environment variable set', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.grpc.port, 50051);
  assert.equal(config.http.port, 8080);
  assert.equal(config.audio_generation.sample_rate, 48000);
  assert.equal(config.text_processing.provider, 'auto');
  assert.equal(config.text_processing.openai.api_key, '');
  assert.equal(config.session_management.collect_ttl_ms, 60000);
});

test('the result is deeply frozen', () => {
  const config = loadConfig({ env: {} });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.text_processing.openai));
  assert.throws(() => {
    (config.grpc as { port: number }).port = 1;
  });
});

test('${VAR} and ${VAR:-default} come from the environment, numbers stay numbers', () => {
  const path = tempFile('grpc:\n  port: ${NEXY_TEST_PORT:-6000}\ntext_processing:\n  openai:\n    api_key: ${KEY}\n');
  assert.equal(loadConfig({ env: { KEY: 'sk-1' }, overridePath: path }).grpc.port, 6000);
  const config = loadConfig({ env: { KEY: 'sk-1', NEXY_TEST_PORT: '7000' }, overridePath: path });
  assert.equal(config.grpc.port, 7000);
  assert.equal(config.text_processing.openai.api_key, 'sk-1');
});

test('an override file is merged over the defaults and need only hold what it changes', () => {
  const path = tempFile('audio_generation:\n  chunk_bytes: 8192\n');
  const config = loadConfig({ env: {}, overridePath: path });
  assert.equal(config.audio_generation.chunk_bytes, 8192);
  assert.equal(config.audio_generation.sample_rate, 48000);
});

test('NEXY_CONFIG names the override file when --config is absent', () => {
  const path = tempFile('http:\n  port: 9999\n');
  assert.equal(loadConfig({ env: { NEXY_CONFIG: path } }).http.port, 9999);
});

test('every problem is listed at once', () => {
  const path = tempFile('grpc:\n  port: -1\n  bogus_key: 1\naudio_generation:\n  channels: zero\n');
  const error = (() => {
    try {
      loadConfig({ env: {}, overridePath: path });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join('\n');
  assert.match(text, /grpc\.port/);
  assert.match(text, /bogus_key/);
  assert.match(text, /audio_generation\.channels/);
});

test('a variable with no value and no default is a problem, not an empty secret', () => {
  const path = tempFile('text_processing:\n  openai:\n    api_key: ${NEXY_SURELY_UNSET}\n');
  assert.throws(() => loadConfig({ env: {}, overridePath: path }), /NEXY_SURELY_UNSET/);
});

test('a missing override file is reported', () => {
  assert.throws(() => loadConfig({ env: {}, overridePath: '/nonexistent/nexy.yaml' }), /cannot read/);
});
