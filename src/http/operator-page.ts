import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { HttpRoute } from './http-server.js';

export interface OperatorPageOptions {
  /** How often the page polls /status, /ready and /metrics. */
  readonly pollIntervalMs: number;
  /** How far back the page's first-audio chart reaches. */
  readonly latencyWindowMs: number;
}

const TEMPLATE = readFileSync(new URL('./operator-page.html', import.meta.url), 'utf8');

/** CSP hash source of each inline `<tag>` block, so nothing else inline can run or style the page. */
function inlineHashes(html: string, tag: 'script' | 'style'): string {
  const blocks = [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
  return blocks.map((b) => `'sha256-${createHash('sha256').update(b).digest('base64')}'`).join(' ');
}

/**
 * The operator page at `/`: one static HTML file (src/http/operator-page.html) with its own script,
 * which polls /status, /ready and /metrics and draws health, streams, first-audio latency and the
 * update feed. The page is rendered once at start-up; the answer is the same bytes every time.
 */
export function createOperatorPage(options: OperatorPageOptions): HttpRoute {
  const html = TEMPLATE.replace('{{POLL_MS}}', String(options.pollIntervalMs)).replace('{{WINDOW_MS}}', String(options.latencyWindowMs));
  const body = Buffer.from(html, 'utf8');
  const csp = [
    "default-src 'none'",
    `script-src ${inlineHashes(html, 'script')}`,
    `style-src ${inlineHashes(html, 'style')}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    name: 'operator-page',
    async handle(req, res, path) {
      if (path !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': body.length,
        'content-security-policy': csp,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
