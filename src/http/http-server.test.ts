import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { captureLog } from '../../test/support/log-capture.js';
import { startOpsHttp } from '../../test/support/ops-http.js';
import { requestPath } from './http-server.js';

/** A raw request: the target goes on the wire exactly as given (fetch would normalise it). */
function raw(port: number, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP request targets', () => {
  let server: Server;
  let port: number;
  const { logger, lines: logged } = captureLog();
  before(async () => {
    ({ server, port } = await startOpsHttp(logger));
  });
  after(() => server.close());

  it('regression: "//" with any method is a client error, not a 500 with a logged stack', async () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']) {
      for (const path of ['//', '///', '//health', '//x/../', '/\\']) {
        const code = await raw(port, method, path);
        assert.ok(code >= 400 && code < 500, `${method} ${path}: ${code}`);
      }
    }
    assert.deepEqual(logged, [], 'nothing logged for a bad path');
  });

  it('absolute-form targets keep working; other forms are 400', async () => {
    assert.equal(await raw(port, 'GET', `http://127.0.0.1:${port}/health`), 200);
    assert.equal(await raw(port, 'GET', '*'), 400);
  });

  it('requestPath normalises and never throws', () => {
    assert.equal(requestPath('/a/../b?x=1'), '/b');
    assert.equal(requestPath('//'), '//');
    assert.equal(requestPath(undefined), '/');
    assert.equal(requestPath('http://h/x'), '/x');
    assert.equal(requestPath('mailto:x'), undefined);
    assert.equal(requestPath('http://[::1'), undefined);
  });
});
