import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { credentials, status } from '@grpc/grpc-js';
import { NexyClient, NexyClientError } from '../../src/client/nexy-client.js';
import type { CliContext } from '../../src/cli/command.js';
import { welcome } from '../../src/cli/welcome.js';
import { ConfigError } from '../../src/config/load.js';
import { StreamingServiceClient } from '../../src/gen/streaming.js';
import { startServer } from '../../src/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { makeCa } from '../support/certificates.js';
import { readStream, startTestServer, testConfig } from '../support/harness.js';

/**
 * TLS on the gRPC port with certificates the test makes (openssl CLI): TLS clients connect,
 * plaintext ones are refused, a rotated certificate is served to new connections after a
 * reload (SIGHUP for `nexy serve`), a broken one is not, and mTLS wants a client certificate.
 */

const BIN = join(import.meta.dirname, '../../bin/nexy.mjs');
const dir = mkdtempSync(join(tmpdir(), 'nexy-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const first = makeCa(dir, 'first');
const second = makeCa(dir, 'second');
const firstServer = first.issue('server', 'server');
const secondServer = second.issue('server', 'server');
/** Where the server reads its pair; the tests copy a CA's pair here to rotate. */
const live = { cert: join(dir, 'live.pem'), key: join(dir, 'live.key') };

function serveWith(pair: { cert: string; key: string }): void {
  copyFileSync(pair.cert, live.cert);
  copyFileSync(pair.key, live.key);
}

/** A welcome over a fresh connection trusting `ca`; its status code (UNAVAILABLE: no handshake). */
async function welcomeTrusting(address: string, ca: Buffer | 'plaintext'): Promise<number> {
  const client = new NexyClient({ address, tls: ca === 'plaintext' ? false : { rootCerts: ca } });
  try {
    for await (const event of client.welcome({ text: 'hi' }, { deadlineMs: 20_000 })) void event;
    return status.OK;
  } catch (error) {
    assert.ok(error instanceof NexyClientError, String(error));
    return error.code;
  } finally {
    client.close();
  }
}

function quietContext(): CliContext & { err: () => string } {
  let err = '';
  return {
    stdout: { write: () => true },
    stderr: { write: (c: string | Uint8Array) => ((err += String(c)), true) },
    signals: { on: () => process, off: () => process } as unknown as CliContext['signals'],
    err: () => err,
  };
}

describe('TLS on the gRPC port', () => {
  test('TLS clients connect (SDK and `nexy --ca-cert`), plaintext is refused; a reload serves the new certificate to new connections and keeps the old one when the new files are broken', async () => {
    serveWith(firstServer);
    const t = await startTestServer(testConfig({ grpc: { tls: { cert_file: live.cert, key_file: live.key } } }));
    try {
      const address = `127.0.0.1:${t.server.grpcPort}`;
      assert.equal(await welcomeTrusting(address, first.pem()), status.OK);
      assert.equal(await welcomeTrusting(address, 'plaintext'), status.UNAVAILABLE);
      assert.equal(await welcomeTrusting(address, second.pem()), status.UNAVAILABLE, 'a client trusting another CA refuses the server');
      const cli = quietContext();
      assert.equal(await welcome.run(['--server', address, '--ca-cert', first.caCert, '--out', join(dir, 'hi.wav')], cli), 0, cli.err());

      serveWith(secondServer);
      assert.equal(t.server.reloadTls(), true);
      assert.equal(await welcomeTrusting(address, second.pem()), status.OK);
      assert.equal(await welcomeTrusting(address, first.pem()), status.UNAVAILABLE);

      writeFileSync(live.cert, 'not a certificate');
      assert.throws(() => t.server.reloadTls());
      assert.equal(await welcomeTrusting(address, second.pem()), status.OK, 'the previous certificate stays');
    } finally {
      await t.close();
    }
  });

  test('`nexy serve` reloads the certificate on SIGHUP', async () => {
    serveWith(firstServer);
    const override = join(dir, 'serve.yaml');
    writeFileSync(
      override,
      [
        'grpc: { host: 127.0.0.1, port: 0, tls: { cert_file: ' + JSON.stringify(live.cert) + ', key_file: ' + JSON.stringify(live.key) + ' } }',
        'http: { host: 127.0.0.1, port: 0 }',
        'memory_management: { backend: none }',
        'text_processing: { provider: scripted }',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [BIN, 'serve', '--config', override], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    async function until(message: string): Promise<Record<string, unknown>> {
      for (let next = await lines.next(); !next.done; next = await lines.next()) {
        const entry = JSON.parse(next.value) as Record<string, unknown>;
        if (entry.msg === message) return entry;
      }
      throw new Error(`the server exited before logging "${message}"`);
    }
    try {
      const listening = await until('server listening');
      assert.equal(listening.tls, true);
      const address = `127.0.0.1:${String(listening.grpc_port)}`;
      assert.equal(await welcomeTrusting(address, first.pem()), status.OK);
      serveWith(secondServer);
      child.kill('SIGHUP');
      await until('tls certificate reloaded');
      assert.equal(await welcomeTrusting(address, second.pem()), status.OK);
      assert.equal(await welcomeTrusting(address, first.pem()), status.UNAVAILABLE);
    } finally {
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0);
    }
  });

  test('mTLS: with client_ca_file a client must present a certificate that CA signed', async () => {
    const clients = makeCa(dir, 'clients');
    const device = clients.issue('device', 'client');
    const stranger = second.issue('stranger', 'client');
    const t = await startTestServer(
      testConfig({ grpc: { tls: { cert_file: firstServer.cert, key_file: firstServer.key, client_ca_file: clients.caCert } } }),
    );
    const address = `127.0.0.1:${t.server.grpcPort}`;
    const call = async (pair?: { cert: string; key: string }) => {
      const creds = pair
        ? credentials.createSsl(first.pem(), readFileSync(pair.key), readFileSync(pair.cert))
        : credentials.createSsl(first.pem());
      const client = new StreamingServiceClient(address, creds);
      try {
        const result = await readStream(client.generateWelcomeAudio({ text: 'hi', voice: '', language: '', sessionId: '' }, { deadline: Date.now() + 20_000 }));
        return result.status.code;
      } finally {
        client.close();
      }
    };
    try {
      assert.equal(await call(device), status.OK);
      assert.equal(await call(), status.UNAVAILABLE, 'no client certificate');
      assert.equal(await call(stranger), status.UNAVAILABLE, 'a certificate of another CA');
    } finally {
      await t.close();
    }
  });

  test('certificate files that do not load are a configuration error at start-up', async () => {
    const config = testConfig({ grpc: { tls: { cert_file: join(dir, 'missing.pem'), key_file: live.key } } });
    await assert.rejects(startServer(config, { logger: createLogger('silent') }), (error: unknown) => error instanceof ConfigError && /grpc\.tls: cannot read .*missing\.pem \(ENOENT\)/.test(error.message));
    assert.throws(() => testConfig({ grpc: { tls: { cert_file: live.cert } } }), ConfigError, 'a certificate without its key');
  });
});
