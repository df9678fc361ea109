import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { artifactType, escapeXml, renderAppcast, renderManifest } from './appcast.js';
import type { Release } from './release.js';

const release: Release = {
  version: '2.1.0',
  build: 2100,
  file: 'Nexy-2.1.0.dmg',
  size: 1234,
  sha256: 'a'.repeat(64),
  ed25519: `${'A'.repeat(86)}==`,
  minimum_system_version: '13.0',
  notes_url: 'https://example.com/notes?a=1&b=<2>',
  critical: true,
  published_at: '2025-01-14T10:00:00Z',
};

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseAttributeValue: false, parseTagValue: false });

describe('appcast', () => {
  test('escapeXml escapes markup and quotes and drops characters XML cannot carry', () => {
    assert.equal(escapeXml(`a&b<c>"d"'e'\u0001`), 'a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;');
  });

  test('the first item carries everything a Sparkle client reads, on the enclosure and as elements', () => {
    const older = { ...release, version: '2.0.0', build: 2000, file: 'Nexy-2.0.0.dmg', critical: undefined };
    const xml = renderAppcast({
      title: 'Nexy & Co',
      channel: 'stable',
      link: 'https://u.example/appcast.xml',
      releases: [
        { release, url: 'https://u.example/downloads/Nexy-2.1.0.dmg?x=1&y=2' },
        { release: older, url: 'https://u.example/downloads/Nexy-2.0.0.dmg' },
      ],
    });
    const rss = parser.parse(xml).rss;
    assert.equal(rss['@xmlns:sparkle'], 'http://www.andymatuschak.org/xml-namespaces/sparkle');
    assert.equal(rss.channel.title, 'Nexy & Co (stable)');
    const [first, second] = rss.channel.item;
    assert.deepEqual(
      {
        url: first.enclosure['@url'],
        version: first.enclosure['@sparkle:version'],
        short: first.enclosure['@sparkle:shortVersionString'],
        length: first.enclosure['@length'],
        signature: first.enclosure['@sparkle:edSignature'],
        minOs: first.enclosure['@sparkle:minimumSystemVersion'],
        type: first.enclosure['@type'],
      },
      {
        url: 'https://u.example/downloads/Nexy-2.1.0.dmg?x=1&y=2',
        version: '2100',
        short: '2.1.0',
        length: '1234',
        signature: release.ed25519,
        minOs: '13.0',
        type: 'application/x-apple-diskimage',
      },
    );
    assert.equal(first['sparkle:version'], '2100');
    assert.equal(first['sparkle:releaseNotesLink'], 'https://example.com/notes?a=1&b=<2>');
    assert.equal(first.pubDate, 'Tue, 14 Jan 2025 10:00:00 GMT');
    assert.ok('sparkle:criticalUpdate' in first);
    assert.ok(!('sparkle:criticalUpdate' in second));
    assert.equal(second.enclosure['@sparkle:version'], '2000');
  });

  test('a channel with nothing to advertise is a valid feed with no item', () => {
    const rss = parser.parse(renderAppcast({ title: 'Nexy', channel: 'beta', link: 'http://h/appcast-beta.xml', releases: [] })).rss;
    assert.equal(rss.channel.title, 'Nexy (beta)');
    assert.equal(rss.channel.item, undefined);
  });

  test('the manifest has version, build and artifact{type,url,size,sha256,ed25519}', () => {
    const manifest = renderManifest('beta', { release, url: 'https://u.example/d.dmg' });
    assert.deepEqual(manifest.artifact, { type: 'dmg', url: 'https://u.example/d.dmg', size: 1234, sha256: release.sha256, ed25519: release.ed25519 });
    assert.equal(manifest.version, '2.1.0');
    assert.equal(manifest.build, 2100);
    assert.equal(manifest.channel, 'beta');
    assert.equal(artifactType('Nexy.ZIP'), 'zip');
  });
});
