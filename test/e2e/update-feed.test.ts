import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdir, mkdtemp, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { release as releaseCommand } from '../../src/cli/release.js';
import type { CliContext } from '../../src/cli/command.js';
import { appendRelease } from '../../src/update/release.js';
import { parsePublicKey, verifyBytes, generateSigningKeys } from '../../src/update/signing.js';
import { startTestServer, testConfig, type TestServer } from '../support/harness.js';
import { signedRelease } from '../support/releases.js';

/**
 * The update feed as clients and operators meet it: releases published with `nexy release add`,
 * served over HTTP by the whole server, with a tampered artifact, a symlink out of the folder and
 * path traversal attempts.
 */

const SECRET = 'TOP-SECRET-CONTENT';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (res: Response): Promise<any> => res.json();
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (name) => name === 'item' });

function cliContext() {
  const out = { stdout: '', stderr: '' };
  const context: CliContext = {
    stdout: { write: (c) => ((out.stdout += String(c)), true) },
    stderr: { write: (c) => ((out.stderr += String(c)), true) },
    signals: process,
  };
  return { out, context };
}

/** A GET with the path sent exactly as given (fetch would normalise `..` away before sending). */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function metricValue(t: TestServer, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('update feed: appcasts, manifest, downloads', () => {
  let t: TestServer;
  let dir: string;
  let downloads: string;
  let publicKey: string;
  const artifacts = new Map<string, Buffer>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexy-updates-'));
    downloads = join(dir, 'downloads');
    const releases = join(dir, 'releases');
    await mkdir(join(dir, 'outside'), { recursive: true });
    await writeFile(join(dir, 'outside', 'secret.txt'), SECRET);
    const keys = await generateSigningKeys();
    publicKey = keys.publicKeyBase64;
    await writeFile(join(dir, 'key.pem'), keys.privateKeyPem);
    const updates = { releases_dir: releases, downloads_dir: downloads, ed25519_public_key: publicKey, rescan_interval_ms: 0 };
    await writeFile(join(dir, 'override.yaml'), JSON.stringify({ updates }));

    const publish = async (channel: string, version: string, build: number, extra: string[] = []) => {
      const bytes = randomBytes(64 * 1024 + build);
      const source = join(dir, 'Nexy.dmg');
      await writeFile(source, bytes);
      const { out, context } = cliContext();
      const args = ['add', '--channel', channel, '--version', version, '--build', String(build), '--file', source, '--key', join(dir, 'key.pem'), '--config', join(dir, 'override.yaml'), ...extra];
      assert.equal(await releaseCommand.run(args, context), 0, out.stderr);
      artifacts.set(`Nexy-${version}.dmg`, bytes);
    };
    await publish('stable', '2.1.0', 2100, ['--min-os', '13.0', '--notes-url', 'https://example.com/notes?v=2.1.0&lang=en']);
    await publish('beta', '2.2.0', 2201);
    await publish('beta', '2.3.0', 2202);
    await publish('alpha', '3.0.0', 3001);
    // Tampered after signing: one byte of the newest beta changes.
    const tampered = Buffer.from(artifacts.get('Nexy-2.3.0.dmg')!);
    tampered[100] = tampered[100]! ^ 0xff;
    await writeFile(join(downloads, 'Nexy-2.3.0.dmg'), tampered);
    // Correctly signed, but its file is a symlink to a file outside the downloads folder.
    const outsideBytes = randomBytes(4096);
    await writeFile(join(dir, 'outside', 'real.dmg'), outsideBytes);
    await symlink(join(dir, 'outside', 'real.dmg'), join(downloads, 'Nexy-link.dmg'));
    await appendRelease(releases, 'beta', await signedRelease(outsideBytes, keys.privateKeyPem, { version: '2.0.0', build: 2000, file: 'Nexy-link.dmg' }));

    t = await startTestServer(testConfig({ updates: { ...updates, channels: { alpha: { enabled: false } } } }));
  });
  after(() => t?.close());

  test('/appcast.xml: the first item is the release, with every attribute a Sparkle client reads', async () => {
    const res = await fetch(`${t.httpUrl}/appcast.xml`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/rss\+xml/);
    const rss = parser.parse(await res.text()).rss;
    const item = rss.channel.item[0];
    const enclosure = item.enclosure;
    const bytes = artifacts.get('Nexy-2.1.0.dmg')!;
    assert.equal(enclosure['@url'], `${t.httpUrl}/downloads/Nexy-2.1.0.dmg`);
    assert.equal(enclosure['@sparkle:version'], '2100');
    assert.equal(enclosure['@sparkle:shortVersionString'], '2.1.0');
    assert.equal(enclosure['@length'], String(bytes.length));
    assert.equal(enclosure['@sparkle:minimumSystemVersion'], '13.0');
    assert.equal(item['sparkle:releaseNotesLink'], 'https://example.com/notes?v=2.1.0&lang=en');
    // The signature is the real one: it verifies the bytes the enclosure's URL serves.
    const served = Buffer.from(await (await fetch(enclosure['@url'])).arrayBuffer());
    assert.ok(served.equals(bytes));
    assert.equal(await verifyBytes(served, enclosure['@sparkle:edSignature'], parsePublicKey(publicKey)), true);
  });

  test('a tampered artifact and one that resolves outside the folder are never advertised', async () => {
    const rss = parser.parse(await (await fetch(`${t.httpUrl}/appcast-beta.xml`)).text()).rss;
    assert.deepEqual(rss.channel.item.map((i: { enclosure: Record<string, string> }) => i.enclosure['@sparkle:version']), ['2201']);
    assert.equal(await metricValue(t, 'nexy_update_artifact_valid{channel="beta"}'), 0);
    assert.equal(await metricValue(t, 'nexy_update_latest_build{channel="beta"}'), 2201);
    assert.equal(await metricValue(t, 'nexy_update_artifact_valid{channel="stable"}'), 1);
    assert.equal(await metricValue(t, 'nexy_update_latest_build{channel="stable"}'), 2100);
    const status = await json(await fetch(`${t.httpUrl}/status`));
    assert.equal(status.updates.beta.state, 'invalid');
    const problems = Object.fromEntries(status.updates.beta.releases.map((r: { build: number; problem?: string }) => [r.build, r.problem]));
    assert.match(problems[2202], /sha256/);
    assert.match(problems[2000], /outside/);
    assert.equal(problems[2201], undefined);
    for (const file of ['Nexy-2.3.0.dmg', 'Nexy-link.dmg']) assert.equal((await fetch(`${t.httpUrl}/downloads/${file}`)).status, 404, file);
    // Advisory: turns are still served, so /ready stays 200 and names the problem.
    const ready = await fetch(`${t.httpUrl}/ready`);
    assert.equal(ready.status, 200);
    assert.match(JSON.stringify(await ready.json()), /"check":"updates".*beta: build 2202/);
  });

  test('/manifest.json per channel; a disabled or unknown channel answers 404', async () => {
    const manifest = await json(await fetch(`${t.httpUrl}/manifest.json?channel=beta`));
    const bytes = artifacts.get('Nexy-2.2.0.dmg')!;
    assert.equal(manifest.version, '2.2.0');
    assert.equal(manifest.build, 2201);
    assert.deepEqual(manifest.artifact, {
      type: 'dmg',
      url: `${t.httpUrl}/downloads/Nexy-2.2.0.dmg`,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      ed25519: manifest.artifact.ed25519,
    });
    assert.equal(await verifyBytes(bytes, manifest.artifact.ed25519, parsePublicKey(publicKey)), true);
    assert.equal((await json(await fetch(`${t.httpUrl}/manifest.json`))).build, 2100, 'stable by default');
    for (const path of ['/manifest.json?channel=alpha', '/appcast-alpha.xml', '/manifest.json?channel=nightly']) {
      assert.equal((await fetch(`${t.httpUrl}${path}`)).status, 404, path);
    }
    assert.equal((await fetch(`${t.httpUrl}/appcast.xml`, { method: 'POST' })).status, 405);
  });

  test('feeds carry an ETag: an unchanged feed is a 304', async () => {
    const first = await fetch(`${t.httpUrl}/appcast.xml`);
    const etag = first.headers.get('etag')!;
    assert.ok(etag);
    const again = await fetch(`${t.httpUrl}/appcast.xml`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  test('downloads: Content-Length, ETag, ranges (206, 416), If-None-Match; a download is counted once', async () => {
    const bytes = artifacts.get('Nexy-2.1.0.dmg')!;
    const url = `${t.httpUrl}/downloads/Nexy-2.1.0.dmg`;
    const downloads = async () => (await metricValue(t, 'nexy_update_downloads_total{channel="stable"}')) ?? 0;
    const before = await downloads();

    const full = await fetch(url);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-length'), String(bytes.length));
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    const etag = full.headers.get('etag')!;
    assert.equal(etag, `"${createHash('sha256').update(bytes).digest('hex')}"`);
    assert.ok(Buffer.from(await full.arrayBuffer()).equals(bytes));

    const part = await fetch(url, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`);
    assert.equal(part.headers.get('content-length'), '1000');
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000)));

    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    assert.equal(tail.status, 206);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10)));

    const past = await fetch(url, { headers: { range: `bytes=${bytes.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${bytes.length}`);
    await past.arrayBuffer();

    const stale = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } });
    assert.equal(stale.status, 200, 'If-Range for another version gets the whole file');
    await stale.arrayBuffer();

    assert.equal((await fetch(url, { headers: { 'if-none-match': etag } })).status, 304);
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(bytes.length));

    // The full GET and the If-Range one started at byte 0; the resumed ranges did not.
    assert.equal((await downloads()) - before, 2);
  });

  test('path traversal is refused: .., encoded dots and slashes, absolute paths', async () => {
    const attempts = [
      '/downloads/../outside/secret.txt',
      '/downloads/../../etc/passwd',
      '/downloads/%2e%2e/outside/secret.txt',
      '/downloads/%2e%2e%2foutside%2fsecret.txt',
      '/downloads/..%2f..%2foutside%2fsecret.txt',
      '/downloads/%252e%252e%252foutside%252fsecret.txt',
      '/downloads//etc/passwd',
      '/downloads/%2fetc%2fpasswd',
      `/downloads/${encodeURIComponent(join(dir, 'outside', 'secret.txt'))}`,
      '/downloads/..%5coutside%5csecret.txt',
      '/downloads/Nexy-2.1.0.dmg%00.txt',
      '/downloads/.',
      '/downloads/',
    ];
    for (const path of attempts) {
      const res = await rawGet(t.httpUrl, path);
      assert.ok(res.status === 400 || res.status === 404, `${path}: ${res.status}`);
      assert.ok(!res.body.toString('latin1').includes(SECRET), path);
      assert.ok(!res.body.toString('latin1').includes('root:'), path);
    }
  });

  test('an artifact changed after start-up is no longer served, and the feed drops it', async () => {
    const file = join(downloads, 'Nexy-2.1.0.dmg');
    const size = (await stat(file)).size;
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(file, bytes);
    assert.equal((await stat(file)).size, size);
    assert.equal((await fetch(`${t.httpUrl}/downloads/Nexy-2.1.0.dmg`)).status, 404);
    await t.server.updates.reload();
    assert.equal(await metricValue(t, 'nexy_update_artifact_valid{channel="stable"}'), 0);
    assert.equal(await metricValue(t, 'nexy_update_latest_build{channel="stable"}'), 0);
    const rss = parser.parse(await (await fetch(`${t.httpUrl}/appcast.xml`)).text()).rss;
    assert.equal(rss.channel.item, undefined);
    assert.equal((await fetch(`${t.httpUrl}/manifest.json`)).status, 404);
  });
});

describe('nexy release', () => {
  test('keygen writes a private key only its owner can read and never overwrites one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexy-keys-'));
    const first = cliContext();
    assert.equal(await releaseCommand.run(['keygen', '--out', dir], first.context), 0);
    const printed = first.out.stdout.trim().split('\n').at(-1)!;
    assert.equal(Buffer.from(printed, 'base64').length, 32);
    assert.equal((await stat(join(dir, 'nexy-update-ed25519.pem'))).mode & 0o777, 0o600);
    const pem = await readFile(join(dir, 'nexy-update-ed25519.pem'), 'utf8');
    const second = cliContext();
    assert.equal(await releaseCommand.run(['keygen', '--out', dir], second.context), 1);
    assert.match(second.out.stderr, /already exists/);
    assert.equal(await readFile(join(dir, 'nexy-update-ed25519.pem'), 'utf8'), pem);
  });

  test('add refuses bad usage (exit 2) and a key that does not match the configured public key (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexy-release-'));
    const configured = await generateSigningKeys();
    const other = await generateSigningKeys();
    await writeFile(join(dir, 'other.pem'), other.privateKeyPem);
    await writeFile(join(dir, 'a.dmg'), randomBytes(100));
    const updates = { releases_dir: join(dir, 'r'), downloads_dir: join(dir, 'd'), ed25519_public_key: configured.publicKeyPem };
    await writeFile(join(dir, 'o.yaml'), JSON.stringify({ updates }));
    const base = ['add', '--channel', 'stable', '--version', '1.0.0', '--build', '100', '--file', join(dir, 'a.dmg'), '--config', join(dir, 'o.yaml')];
    const { context, out } = cliContext();
    await assert.rejects(releaseCommand.run([...base.slice(0, 2), 'nightly', ...base.slice(3), '--key', 'k'], context), /--channel must be one of/);
    await assert.rejects(releaseCommand.run(base, context), /exactly one of --key and --signature/);
    await assert.rejects(releaseCommand.run([...base, '--key', 'k', '--build', 'x'], context), /--build must be a positive integer/);
    assert.equal(await releaseCommand.run([...base, '--key', join(dir, 'other.pem')], context), 1);
    assert.match(out.stderr, /does not verify with updates\.ed25519_public_key/);
    await assert.rejects(stat(join(dir, 'r', 'stable.yaml')), { code: 'ENOENT' });
  });
});
