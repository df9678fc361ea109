import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';

export interface ReadinessCheck {
  readonly name: string;
  /** Undefined when ready, else what is missing. */
  check(): Promise<string | undefined>;
  /**
   * False for an advisory check (the update feed): its problem is reported in /ready's body but
   * does not make the server unready, since turns are still served. Default true.
   */
  readonly required?: boolean;
}

export interface Readiness {
  readonly ready: boolean;
  /** Required checks that failed. */
  readonly missing: ReadonlyArray<{ check: string; missing: string }>;
  /** Advisory checks that failed. */
  readonly warnings: ReadonlyArray<{ check: string; problem: string }>;
}

/** Runs every check at once; a check that throws counts as failed with its message. */
export async function evaluateReadiness(checks: readonly ReadinessCheck[]): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (r) => ({ r, problem: await r.check().catch((e: Error) => e.message) })),
  );
  const failed = results.filter((x) => x.problem !== undefined);
  const missing = failed.filter((x) => x.r.required !== false).map((x) => ({ check: x.r.name, missing: x.problem! }));
  const warnings = failed.filter((x) => x.r.required === false).map((x) => ({ check: x.r.name, problem: x.problem! }));
  return { ready: missing.length === 0, missing, warnings };
}

/**
 * A feature's HTTP routes (update feed, admin API, operator page). `handle` returns false when the
 * request is not for it; routes are asked in order before the built-in endpoints' 404.
 */
export interface HttpRoute {
  readonly name: string;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

export interface HttpDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly version: string;
  readonly startedAt: number;
  readonly readiness: readonly ReadinessCheck[];
  /** Extra fields for /status (active streams, providers). */
  readonly status: () => Promise<Record<string, unknown>>;
  readonly routes?: readonly HttpRoute[];
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * The normalised path of a request target (`/a/../b` → `/b`), or undefined when the target is
 * not one: origin-form (`/…`, `//` included: `new URL('//', base)` would read it as a host and
 * throw) or an absolute http(s) URL. Never throws.
 */
export function requestPath(target: string | undefined): string | undefined {
  const raw = target ?? '/';
  try {
    if (raw.startsWith('/')) return new URL(`http://localhost${raw}`).pathname;
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.pathname : undefined;
  } catch {
    return undefined;
  }
}

/** The operations port: /health, /ready, /status and /metrics (docs/ARCHITECTURE.md, `src/http/`). */
export function createHttpServer(deps: HttpDeps): Server {
  const { logger, metrics } = deps;

  async function readiness(): Promise<Readiness> {
    const result = await evaluateReadiness(deps.readiness);
    metrics.ready.set(result.ready ? 1 : 0);
    return result;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url);
    if (path === undefined) {
      json(res, 400, { error: 'bad request target' });
      return;
    }
    for (const route of deps.routes ?? []) {
      if (await route.handle(req, res, path)) return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, { error: 'method not allowed' });
      return;
    }
    switch (path) {
      case '/health':
        json(res, 200, { status: 'ok', uptime_s: Math.round((Date.now() - deps.startedAt) / 1000) });
        return;
      case '/ready': {
        const { ready, missing, warnings } = await readiness();
        json(res, ready ? 200 : 503, {
          status: ready ? 'ready' : 'not ready',
          ...(ready ? {} : { missing }),
          ...(warnings.length > 0 ? { warnings } : {}),
        });
        return;
      }
      case '/status':
        json(res, 200, {
          version: deps.version,
          uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
          ...(await deps.status()),
        });
        return;
      case '/metrics': {
        // nexy_ready is as fresh as the scrape, whether or not anything polls /ready.
        await readiness();
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
        return;
      }
      default:
        json(res, 404, { error: 'not found' });
    }
  }

  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error, path: req.url }, 'http request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
}
