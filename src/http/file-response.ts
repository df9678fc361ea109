import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

/** A byte range of a file, both ends included. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The `Range` header for a file of `size` bytes (RFC 9110 §14). One range only: a header that is
 * malformed, names another unit or asks for several ranges is ignored (the whole file is sent,
 * which the RFC allows). `unsatisfiable` becomes a 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** True when the request's validators say the client's copy (ETag `etag`) is current. */
function notModified(req: IncomingMessage, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (header === undefined) return false;
  return header.trim() === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export interface FileToSend {
  /** A resolved path the caller has already confined to its folder. */
  readonly path: string;
  readonly size: number;
  /** A strong validator (quoted). */
  readonly etag: string;
  readonly contentType: string;
  /** For Content-Disposition. */
  readonly downloadName: string;
  /**
   * Called with the open file's stat before anything is sent; false means the file is not the one
   * that was verified (it changed since), and the answer is a 404.
   */
  readonly unchanged: (stat: { size: number; ctimeMs: number; ino: number }) => boolean;
}

export interface SendResult {
  /** The status sent; 0 when nothing was sent because the file changed (`unchanged` said false). */
  readonly status: number;
  /** The first byte of a body that went out (GET 200/206). */
  readonly bodyFrom?: number;
}

/**
 * Sends a file with Content-Length, an ETag and its validators (If-None-Match, If-Range), and
 * single byte ranges (206, 416). The file is opened once and checked with `unchanged`
 * on that descriptor, so what is sent is what was checked.
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: FileToSend): Promise<SendResult> {
  const handle = await open(file.path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile() || !file.unchanged({ size: info.size, ctimeMs: info.ctimeMs, ino: info.ino })) return { status: 0 };
    const headers: Record<string, string | number> = {
      etag: file.etag,
      'accept-ranges': 'bytes',
      'cache-control': 'public, max-age=86400',
      'content-disposition': `attachment; filename="${file.downloadName}"`,
      'x-content-type-options': 'nosniff',
    };
    if (notModified(req, file.etag)) {
      res.writeHead(304, headers);
      res.end();
      return { status: 304 };
    }
    // A Range sent with If-Range for another version of the file gets the whole (new) file.
    const ifRange = req.headers['if-range'];
    const rangeHeader = ifRange === undefined || String(ifRange).trim() === file.etag ? req.headers.range : undefined;
    const range = parseRange(rangeHeader, file.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${file.size}`, 'content-length': 0 });
      res.end();
      return { status: 416 };
    }
    const { start, end } = range ?? { start: 0, end: file.size - 1 };
    const length = file.size === 0 ? 0 : end - start + 1;
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'content-type': file.contentType,
      'content-length': length,
      ...(range ? { 'content-range': `bytes ${start}-${end}/${file.size}` } : {}),
    });
    const status = range ? 206 : 200;
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return { status };
    }
    try {
      await pipeline(handle.createReadStream({ start, end, autoClose: false }), res);
    } catch (error) {
      // The client went away mid-download (or paused a resumable one): not the server's failure.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
    }
    return { status, bodyFrom: start };
  } finally {
    await handle.close();
  }
}
