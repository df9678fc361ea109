import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { appendRelease, isArtifactFileName, parseReleaseFile, readReleases, type Release } from './release.js';

const release = (build: number): Release => ({
  version: `2.${build}.0`,
  build,
  file: `Nexy-${build}.dmg`,
  size: 10,
  sha256: 'b'.repeat(64),
  ed25519: `${'Q'.repeat(86)}==`,
});

test('artifact file names are one plain path segment', () => {
  for (const ok of ['Nexy-2.1.0.dmg', 'Nexy_2.1+3.zip']) assert.equal(isArtifactFileName(ok), true, ok);
  for (const bad of ['..', '../x', 'a/b', '/etc/passwd', '.hidden', 'a..b', 'a\\b', 'C:x', '', 'x%2f']) assert.equal(isArtifactFileName(bad), false, bad);
});

test('a release file with mistakes lists every problem with its path', () => {
  const text = `releases:
  - { version: 2.1, build: 2100, file: a.dmg, size: 1, sha256: ${'b'.repeat(64)}, ed25519: "${'Q'.repeat(86)}==" }
  - { version: "2.1", build: 2100, file: ../a.dmg, size: 1, sha256: xyz, ed25519: "${'Q'.repeat(86)}==" }
`;
  assert.throws(
    () => parseReleaseFile('stable.yaml', text),
    (error: Error) =>
      /stable\.yaml: releases\.0\.version: must be a quoted string/.test(error.message) &&
      /releases\.1\.file/.test(error.message) &&
      /releases\.1\.sha256/.test(error.message),
  );
  const twice = `releases:\n${[release(7), release(7)].map((r) => `  - ${JSON.stringify(r)}`).join('\n')}\n`;
  assert.throws(() => parseReleaseFile('beta.yaml', twice), /beta\.yaml: releases\.1\.build: build 7 is declared twice/);
  assert.deepEqual(parseReleaseFile('empty.yaml', '# nothing yet\nreleases:\n'), []);
});

test('appendRelease creates the file, keeps comments and other entries, and refuses a build twice', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nexy-releases-'));
  await appendRelease(dir, 'beta', release(1));
  assert.deepEqual((await readReleases(dir, 'beta')).releases, [release(1)]);

  await writeFile(join(dir, 'stable.yaml'), '# kept comment\nreleases: []  # none yet\n');
  await appendRelease(dir, 'stable', release(1));
  await appendRelease(dir, 'stable', release(2));
  const text = await readFile(join(dir, 'stable.yaml'), 'utf8');
  assert.match(text, /# kept comment/);
  assert.deepEqual((await readReleases(dir, 'stable')).releases, [release(1), release(2)]);
  await assert.rejects(appendRelease(dir, 'stable', release(2)), /build 2 is already declared/);

  await writeFile(join(dir, 'alpha.json'), JSON.stringify({ releases: [release(5)] }));
  await appendRelease(dir, 'alpha', release(6));
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'alpha.json'), 'utf8')).releases, [release(5), release(6)]);
});
