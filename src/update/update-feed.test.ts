import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { appendRelease } from './release.js';
import { generateSigningKeys } from './signing.js';
import { UpdateFeed, type UpdateFeedOptions } from './update-feed.js';
import { signedRelease } from '../../test/support/releases.js';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'nexy-feed-'));
  const keys = await generateSigningKeys();
  const bytes = Buffer.from('artifact bytes');
  await mkdir(join(dir, 'dl'));
  await writeFile(join(dir, 'dl', 'a.zip'), bytes);
  await appendRelease(join(dir, 'rel'), 'stable', await signedRelease(bytes, keys.privateKeyPem, { version: '1.0.0', build: 1, file: 'a.zip' }));
  const metrics = new Metrics();
  const options: UpdateFeedOptions = {
    releasesDir: join(dir, 'rel'),
    downloadsDir: join(dir, 'dl'),
    publicKey: keys.publicKeyPem,
    enabled: { stable: true, beta: true, alpha: false },
    maxArtifactBytes: 1024,
    rescanIntervalMs: 0,
    logger: createLogger('silent'),
    metrics,
  };
  return { dir, options, metrics };
}

test('a release file broken after start-up keeps the last good state and is reported', async () => {
  const { dir, options } = await setup();
  const feed = await UpdateFeed.create(options);
  assert.equal(feed.channel('stable').advertised[0]?.build, 1);
  assert.equal(feed.problem(), undefined);
  await writeFile(join(dir, 'rel', 'stable.yaml'), 'releases: [ {version: oops');
  await feed.reload();
  assert.equal(feed.channel('stable').advertised[0]?.build, 1, 'still advertised');
  assert.ok(feed.servable('a.zip'));
  assert.match(feed.problem() ?? '', /^stable: .*stable\.yaml: not valid YAML/);
  assert.equal(feed.status().stable.state, 'error');
  assert.match(await options.metrics.registry.metrics(), /nexy_update_artifact_valid\{channel="stable"\} 0/);
  feed.close();
});

test('at start-up a broken release file or public key is a configuration error', async () => {
  const { dir, options } = await setup();
  await assert.rejects(UpdateFeed.create({ ...options, publicKey: 'not a key' }), (e: unknown) => e instanceof ConfigError && /ed25519_public_key/.test(e.message));
  await writeFile(join(dir, 'rel', 'beta.yaml'), 'releases: [{ version: 1 }]');
  await assert.rejects(UpdateFeed.create(options), (e: unknown) => e instanceof ConfigError && /beta\.yaml: releases\.0/.test(e.message));
});

test('without a public key, or over the size limit, nothing is advertised and the gauges say so', async () => {
  const { options, metrics } = await setup();
  for (const [change, problem] of [
    [{ publicKey: '' }, /no updates\.ed25519_public_key/],
    [{ maxArtifactBytes: 4 }, /over updates\.max_artifact_bytes/],
  ] as const) {
    const feed = await UpdateFeed.create({ ...options, ...change });
    assert.deepEqual(feed.channel('stable').advertised, []);
    assert.match(feed.channel('stable').releases[0]?.problem ?? '', problem);
    const text = await metrics.registry.metrics();
    assert.match(text, /nexy_update_artifact_valid\{channel="stable"\} 0/);
    assert.match(text, /nexy_update_latest_build\{channel="stable"\} 0/);
    // An enabled channel with no release is valid (nothing declared failed); a disabled one has no series.
    assert.match(text, /nexy_update_artifact_valid\{channel="beta"\} 1/);
    assert.doesNotMatch(text, /channel="alpha"/);
    feed.close();
  }
});
