import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { captureLog } from '../support/log-capture.js';

// Property test of every HTTP route (health, ready, status, metrics, admin, update feed,
// operator page): any method and request target, sent raw, is answered below 500, nothing is
// logged at error level, and the server keeps answering.
let t: TestServer;
let port: number;
const log = captureLog('warn');
/** What was logged at error level or worse: nothing, for any request. */
const errors = (): string[] => log.lines.filter((line) => /"level":"(error|fatal)"/.test(line));
before(async () => {
  t = await startTestServer(testConfig({ admin: { token: 'property-test-admin-token-0123456789' } }), { logger: log.logger });
  port = t.server.httpPort;
});
after(() => t.close());

/** One raw HTTP/1.1 exchange; resolves to the status code (0 when the server closed without one). */
function exchange(head: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (reply += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1] ?? 0)));
    socket.end(head, 'latin1');
  });
}

const segment = fc.oneof(
  fc.constantFrom('', '.', '..', 'health', 'ready', 'status', 'metrics', 'admin', 'memory', 'downloads', 'appcast.xml', 'manifest.json', 'operator', '%2e%2e', '%00', '%', '%zz', '\\'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: 'binary-ascii', maxLength: 8 }).map((s) => s.replace(/[\s]/g, '')),
);
const target = fc.oneof(
  fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`),
  fc.array(segment, { maxLength: 4 }).map((s) => `//${s.join('/')}`),
  fc.tuple(fc.array(segment, { maxLength: 3 }), fc.string({ maxLength: 20 })).map(([s, q]) => `/${s.join('/')}?${encodeURIComponent(q)}`),
  fc.constantFrom('*', 'http://x/health', 'http://[::1', 'mailto:a', ''),
);
const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'FOO');
const auth = fc.constantFrom('', 'authorization: Bearer property-test-admin-token-0123456789\r\n', 'authorization: Bearer nope\r\n', 'authorization: \r\n');

test('HTTP routes: any method and target is answered below 500, and nothing is logged as an error', async () => {
  await fc.assert(
    fc.asyncProperty(method, target, auth, async (m, path, authorization) => {
      const code = await exchange(`${m} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${authorization}connection: close\r\n\r\n`);
      // Node closes a CONNECT (a proxy tunnel request) without a reply when nothing handles it.
      const answered = m === 'CONNECT' ? code === 0 || code < 500 : code >= 100 && code < 500;
      assert.ok(answered, `${m} ${JSON.stringify(path)} → ${code}`);
    }),
    { numRuns: 300 },
  );
  assert.deepEqual(errors(), []);
  assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
});
