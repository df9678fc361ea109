import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AppError } from '../errors.js';
import { createLogger } from '../observability/logger.js';
import { startOpsHttp } from '../../test/support/ops-http.js';
import { createAdminRoute } from './admin-routes.js';

const TOKEN = 'a-long-enough-admin-token-0123456789';

/** The operations server with the admin route, on an ephemeral port; `forget` records its calls. */
function serve(token: string, forget: (id: string) => Promise<void>): Promise<{ server: Server; url: string }> {
  const logger = createLogger('silent');
  return startOpsHttp(logger, [createAdminRoute({ token, forget, logger })]);
}

function del(url: string, auth?: string): Promise<Response> {
  return fetch(url, { method: 'DELETE', headers: auth === undefined ? {} : { authorization: auth } });
}

describe('admin API: DELETE /admin/memory/{hardware_id}', () => {
  let forgotten: string[];
  let failWith: Error | undefined;
  let url: string;
  let server: Server;
  before(async () => {
    ({ server, url } = await serve(TOKEN, async (id) => {
      if (failWith) throw failWith;
      forgotten.push(id);
    }));
  });
  after(() => server.close());
  beforeEach(() => {
    forgotten = [];
    failWith = undefined;
  });

  it('forgets the hardware id with the right token: 200 {forgotten: true}', async () => {
    const res = await del(`${url}/admin/memory/HW-1:a.b_c`, `Bearer ${TOKEN}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), { forgotten: true });
    assert.deepEqual(forgotten, ['HW-1:a.b_c']);
  });

  it('accepts a percent-encoded id and any case of "Bearer"', async () => {
    const res = await del(`${url}/admin/memory/HW%2D2`, `bearer ${TOKEN}`);
    assert.equal(res.status, 200);
    assert.deepEqual(forgotten, ['HW-2']);
  });

  for (const [name, auth] of [
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer wrong-token-of-some-length-000000'],
    ['the token with one character more', `Bearer ${TOKEN}x`],
    ['a token prefix', `Bearer ${TOKEN.slice(0, -1)}`],
    ['another scheme', `Basic ${TOKEN}`],
    ['an empty bearer', 'Bearer '],
  ] as const) {
    it(`refuses ${name}: 401 with WWW-Authenticate, nothing forgotten`, async () => {
      const res = await del(`${url}/admin/memory/HW-1`, auth);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
      assert.deepEqual(await res.json(), { error: 'unauthorized' });
      assert.deepEqual(forgotten, []);
    });
  }

  it('checks the token before saying whether a path exists', async () => {
    assert.equal((await fetch(`${url}/admin/nothing-here`)).status, 401);
    assert.equal((await fetch(`${url}/admin/nothing-here`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
  });

  it('other methods on the memory path: 405 with Allow: DELETE', async () => {
    const res = await fetch(`${url}/admin/memory/HW-1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'DELETE');
    assert.deepEqual(forgotten, []);
  });

  for (const [name, id] of [
    ['"unknown"', 'unknown'],
    ['bad characters', 'bad%20id'],
    ['a malformed escape', '%E0%A4%A'],
    ['too long', 'x'.repeat(129)],
  ] as const) {
    it(`an invalid hardware id (${name}) is 400, nothing forgotten`, async () => {
      const res = await del(`${url}/admin/memory/${id}`, `Bearer ${TOKEN}`);
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /hardware_id/);
      assert.deepEqual(forgotten, []);
    });
  }

  it('a store that cannot be reached is 503; anything else 500 "internal error"', async () => {
    failWith = new AppError('unavailable', 'memory database unavailable');
    const unavailable = await del(`${url}/admin/memory/HW-1`, `Bearer ${TOKEN}`);
    assert.equal(unavailable.status, 503);
    assert.deepEqual(await unavailable.json(), { error: 'memory database unavailable' });
    failWith = new Error('secret detail');
    const broken = await del(`${url}/admin/memory/HW-1`, `Bearer ${TOKEN}`);
    assert.equal(broken.status, 500);
    assert.deepEqual(await broken.json(), { error: 'internal error' });
  });

  it('leaves every other path to the other routes and built-ins', async () => {
    assert.equal((await fetch(`${url}/health`)).status, 200);
    assert.equal((await fetch(`${url}/administrator`)).status, 404);
  });
});

describe('admin API without a token', () => {
  it('does not exist: 404 for every /admin path, whatever is sent', async () => {
    const calls: string[] = [];
    const { server, url } = await serve('', async (id) => void calls.push(id));
    try {
      for (const auth of [undefined, 'Bearer ', 'Bearer anything-at-all-here']) {
        const res = await del(`${url}/admin/memory/HW-1`, auth);
        assert.equal(res.status, 404);
        assert.deepEqual(await res.json(), { error: 'not found' });
      }
      assert.deepEqual(calls, []);
    } finally {
      server.close();
    }
  });
});
