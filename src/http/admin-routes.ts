import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { hardwareIdProblem } from '../protocol/validation.js';
import type { HttpRoute } from './http-server.js';

export interface AdminRouteOptions {
  /** `admin.token`; empty: the admin API is disabled and every /admin path answers 404. */
  readonly token: string;
  /** Removes everything stored for the hardware id (memory and anything queued to be learnt). */
  readonly forget: (hardwareId: string) => Promise<void>;
  readonly logger: Logger;
}

const PREFIX = '/admin/';
const MEMORY = /^\/admin\/memory\/([^/]+)$/;

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * Compares the request's bearer token with the configured one in constant time: both are
 * hashed first, so neither their contents nor their lengths leak through timing.
 */
function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  const given = createHash('sha256').update(match?.[1] ?? '').digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected) && match !== null;
}

/**
 * The operator API on the HTTP port: `DELETE /admin/memory/{hardware_id}` forgets everything
 * stored for a device (turns, facts, summary, usage). Every /admin request needs
 * `Authorization: Bearer <admin.token>` (401 otherwise); with no token configured the API does
 * not exist (404), so a forgotten setting never leaves it open.
 */
export function createAdminRoute(options: AdminRouteOptions): HttpRoute {
  const { token, forget, logger } = options;
  return {
    name: 'admin',
    async handle(req, res, path) {
      if (!path.startsWith(PREFIX)) return false;
      if (token === '') {
        sendJson(res, 404, { error: 'not found' });
        return true;
      }
      if (!tokenMatches(req.headers.authorization, token)) {
        logger.warn({ method: req.method, path: '/admin/…' }, 'admin request refused: bad or missing token');
        sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="nexy-admin"' });
        return true;
      }
      const memory = MEMORY.exec(path);
      if (memory === null) {
        sendJson(res, 404, { error: 'not found' });
        return true;
      }
      if (req.method !== 'DELETE') {
        sendJson(res, 405, { error: 'method not allowed' }, { allow: 'DELETE' });
        return true;
      }
      await forgetRoute(req, res, memory[1], forget, logger);
      return true;
    },
  };
}

async function forgetRoute(
  req: IncomingMessage,
  res: ServerResponse,
  encodedId: string,
  forget: AdminRouteOptions['forget'],
  logger: Logger,
): Promise<void> {
  let hardwareId: string;
  try {
    hardwareId = decodeURIComponent(encodedId);
  } catch {
    sendJson(res, 400, { error: 'hardware_id is not valid percent-encoding' });
    return;
  }
  const problem = hardwareIdProblem(hardwareId);
  if (problem !== undefined) {
    sendJson(res, 400, { error: problem });
    return;
  }
  // The body is not read: a DELETE carries none, and an unread one is discarded with the socket.
  req.resume();
  try {
    await forget(hardwareId);
  } catch (error) {
    logger.error({ err: error }, 'admin forget failed');
    const unavailable = error instanceof AppError && error.kind === 'unavailable';
    sendJson(res, unavailable ? 503 : 500, { error: unavailable ? 'memory database unavailable' : 'internal error' });
    return;
  }
  logger.info({ hardware_id: hardwareId }, 'admin forgot a hardware id');
  sendJson(res, 200, { forgotten: true });
}
