import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import { artifactContentType, renderAppcast, renderManifest, type AdvertisedRelease } from '../update/appcast.js';
import { CHANNELS, isArtifactFileName, isChannel, type Channel } from '../update/release.js';
import type { UpdateFeed } from '../update/update-feed.js';
import type { HttpRoute } from './http-server.js';
import { sendFile } from './file-response.js';

export interface UpdateRoutesOptions {
  readonly feed: UpdateFeed;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly title: string;
  /** `updates.public_base_url`; empty: from each request's Host and X-Forwarded-Proto. */
  readonly publicBaseUrl: string;
  readonly feedMaxAgeS: number;
}

/** The appcast path of each channel: stable is the one clients poll by default. */
export const APPCAST_PATHS: Readonly<Record<Channel, string>> = {
  stable: '/appcast.xml',
  beta: '/appcast-beta.xml',
  alpha: '/appcast-alpha.xml',
};

const DOWNLOADS = '/downloads/';
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * The update feed on the HTTP port: `/appcast*.xml` (Sparkle RSS), `/manifest.json?channel=`
 * and `/downloads/{file}`. Only verified releases of enabled channels are listed or served.
 */
export function createUpdateRoute(options: UpdateRoutesOptions): HttpRoute {
  const { feed, metrics, logger } = options;
  const appcastChannel = new Map(CHANNELS.map((c) => [APPCAST_PATHS[c], c]));

  function baseUrl(req: IncomingMessage): string {
    if (options.publicBaseUrl !== '') return options.publicBaseUrl.replace(/\/+$/, '');
    const forwarded = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim();
    const scheme = forwarded === 'https' || forwarded === 'http' ? forwarded : 'http';
    const host = req.headers.host !== undefined && HOST.test(req.headers.host) ? req.headers.host : 'localhost';
    return `${scheme}://${host}`;
  }

  function advertised(req: IncomingMessage, channel: Channel): AdvertisedRelease[] {
    const base = baseUrl(req);
    return feed.channel(channel).advertised.map((release) => ({
      release,
      url: release.url ?? `${base}${DOWNLOADS}${encodeURIComponent(release.file)}`,
    }));
  }

  /** A feed document with a content ETag, so hourly polls of an unchanged feed cost a 304. */
  function sendFeed(req: IncomingMessage, res: ServerResponse, contentType: string, body: string): void {
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    const headers = { etag, 'cache-control': `public, max-age=${options.feedMaxAgeS}` };
    if (req.headers['if-none-match']?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function download(req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<void> {
    // The router's path is already normalised (`/downloads/../x` became `/x`): only the raw path
    // tells what was asked, and a dot segment or an encoded separator in it is refused outright.
    if (!rawPath.startsWith(DOWNLOADS)) return sendJson(res, 400, { error: 'bad file name' });
    const encoded = rawPath.slice(DOWNLOADS.length);
    let name: string;
    try {
      name = decodeURIComponent(encoded);
    } catch {
      return sendJson(res, 400, { error: 'bad file name' });
    }
    if (encoded.includes('/') || !isArtifactFileName(name)) return sendJson(res, 400, { error: 'bad file name' });
    const artifact = feed.servable(name);
    if (!artifact) return sendJson(res, 404, { error: 'not found' });
    const result = await sendFile(req, res, {
      path: artifact.path,
      size: artifact.size,
      etag: `"${artifact.sha256}"`,
      contentType: artifactContentType(artifact.file),
      downloadName: artifact.file,
      unchanged: (s) => s.size === artifact.size && s.ctimeMs === artifact.ctimeMs && s.ino === artifact.ino,
    });
    if (result.status === 0) {
      logger.warn({ file: name }, 'update artifact changed since it was verified; not served until re-verified');
      void feed.reload();
      return sendJson(res, 404, { error: 'not found' });
    }
    // A resumed download (a range not from byte 0) is the same download: counted once.
    if (result.bodyFrom === 0) metrics.updateDownloads.inc({ channel: artifact.channel });
  }

  return {
    name: 'update-feed',
    async handle(req, res, path) {
      const rawPath = (req.url ?? '/').split('?')[0]!;
      const isDownload = path.startsWith(DOWNLOADS) || rawPath.startsWith(DOWNLOADS);
      const channelOfAppcast = appcastChannel.get(path);
      if (!isDownload && channelOfAppcast === undefined && path !== '/manifest.json') return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        sendJson(res, 405, { error: 'method not allowed' });
        return true;
      }
      if (isDownload) {
        await download(req, res, rawPath);
        return true;
      }
      const requested = channelOfAppcast ?? new URL(req.url ?? '/', 'http://localhost').searchParams.get('channel') ?? 'stable';
      if (!isChannel(requested) || !feed.channel(requested).enabled) {
        sendJson(res, 404, { error: `no update channel ${JSON.stringify(requested)}` });
        return true;
      }
      const entries = advertised(req, requested);
      if (channelOfAppcast !== undefined) {
        const xml = renderAppcast({ title: options.title, channel: requested, link: `${baseUrl(req)}${APPCAST_PATHS[requested]}`, releases: entries });
        sendFeed(req, res, 'application/rss+xml; charset=utf-8', xml);
        return true;
      }
      if (entries.length === 0) {
        sendJson(res, 404, { error: `no release on the ${requested} channel` });
        return true;
      }
      sendFeed(req, res, 'application/json; charset=utf-8', JSON.stringify(renderManifest(requested, entries[0]!)));
      return true;
    },
  };
}
