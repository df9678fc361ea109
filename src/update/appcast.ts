import { extname } from 'node:path';
import type { Channel, Release } from './release.js';

/**
 * The two feed formats deployed clients read (docs/COMPATIBILITY.md, "Other calls"): a Sparkle RSS appcast whose
 * first `<item><enclosure>` is the update, and a JSON manifest. Pure functions of what the feed
 * decided to advertise; nothing here checks artifacts.
 */

export const SPARKLE_NS = 'http://www.andymatuschak.org/xml-namespaces/sparkle';

/** A verified release with the absolute URL clients download it from. */
export interface AdvertisedRelease {
  readonly release: Release;
  readonly url: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.dmg': 'application/x-apple-diskimage',
  '.zip': 'application/zip',
  '.pkg': 'application/octet-stream',
};

/** The MIME type an artifact is served and announced with. */
export function artifactContentType(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** The manifest's `artifact.type`: the file's extension (`dmg`, `zip`, `pkg`). */
export function artifactType(file: string): string {
  return extname(file).slice(1).toLowerCase() || 'binary';
}

// XML 1.0 allows no C0 controls but tab, LF and CR: they are dropped rather than sent broken.
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text safe in XML character data and in double- or single-quoted attributes. */
export function escapeXml(text: string): string {
  return text.replace(XML_INVALID, '').replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!);
}

export interface AppcastOptions {
  readonly title: string;
  readonly channel: Channel;
  /** The appcast's own absolute URL. */
  readonly link: string;
  /** Highest build first: Sparkle-style clients take the first item. */
  readonly releases: readonly AdvertisedRelease[];
}

function item(entry: AdvertisedRelease): string {
  const r = entry.release;
  const lines = [
    `      <title>${escapeXml(`Version ${r.version}`)}</title>`,
    r.published_at === undefined ? undefined : `      <pubDate>${escapeXml(new Date(r.published_at).toUTCString())}</pubDate>`,
    `      <sparkle:version>${r.build}</sparkle:version>`,
    `      <sparkle:shortVersionString>${escapeXml(r.version)}</sparkle:shortVersionString>`,
    r.minimum_system_version === undefined
      ? undefined
      : `      <sparkle:minimumSystemVersion>${escapeXml(r.minimum_system_version)}</sparkle:minimumSystemVersion>`,
    r.notes_url === undefined ? undefined : `      <sparkle:releaseNotesLink>${escapeXml(r.notes_url)}</sparkle:releaseNotesLink>`,
    r.critical ? '      <sparkle:criticalUpdate></sparkle:criticalUpdate>' : undefined,
  ];
  // Older clients read everything from the enclosure's attributes, newer Sparkle from the
  // elements above: both are given.
  const attributes = [
    `url="${escapeXml(entry.url)}"`,
    `sparkle:version="${r.build}"`,
    `sparkle:shortVersionString="${escapeXml(r.version)}"`,
    `length="${r.size}"`,
    `type="${artifactContentType(r.file)}"`,
    `sparkle:edSignature="${escapeXml(r.ed25519)}"`,
    r.minimum_system_version === undefined ? undefined : `sparkle:minimumSystemVersion="${escapeXml(r.minimum_system_version)}"`,
  ];
  lines.push(`      <enclosure ${attributes.filter((a) => a !== undefined).join(' ')}/>`);
  return `    <item>\n${lines.filter((l) => l !== undefined).join('\n')}\n    </item>`;
}

/** A Sparkle RSS 2.0 appcast. */
export function renderAppcast(options: AppcastOptions): string {
  const head = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<rss version="2.0" xmlns:sparkle="${SPARKLE_NS}">`,
    '  <channel>',
    `    <title>${escapeXml(`${options.title} (${options.channel})`)}</title>`,
    `    <link>${escapeXml(options.link)}</link>`,
    `    <description>${escapeXml(`${options.title} updates, ${options.channel} channel`)}</description>`,
  ];
  return [...head, ...options.releases.map(item), '  </channel>', '</rss>', ''].join('\n');
}

/** The JSON manifest of a channel's newest advertised release. */
export function renderManifest(channel: Channel, entry: AdvertisedRelease): Record<string, unknown> {
  const r = entry.release;
  return {
    channel,
    version: r.version,
    build: r.build,
    minimum_system_version: r.minimum_system_version ?? null,
    notes_url: r.notes_url ?? null,
    critical: r.critical ?? false,
    published_at: r.published_at ?? null,
    artifact: { type: artifactType(r.file), url: entry.url, size: r.size, sha256: r.sha256, ed25519: r.ed25519 },
  };
}
