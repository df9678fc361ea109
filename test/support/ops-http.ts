import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createHttpServer, type HttpRoute } from '../../src/http/http-server.js';
import { Metrics } from '../../src/observability/metrics.js';

/**
 * The operations HTTP server alone (no readiness checks, an empty status, `routes` if any) on an
 * ephemeral 127.0.0.1 port.
 */
export async function startOpsHttp(logger: Logger, routes: readonly HttpRoute[] = []): Promise<{ server: Server; port: number; url: string }> {
  const server = createHttpServer({ logger, metrics: new Metrics(), version: 'test', startedAt: Date.now(), readiness: [], status: async () => ({}), routes });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, port, url: `http://127.0.0.1:${port}` };
}
