import { ConfigError, loadConfig } from '../config/load.js';
import { describeTlsError } from '../grpc/tls.js';
import { createLogger } from '../observability/logger.js';
import { startServer } from '../server.js';

/** `nexy serve [--config PATH]`: runs the server until SIGTERM/SIGINT. Resolves to the exit code. */
export async function serve(args: { config?: string }): Promise<number> {
  let config;
  try {
    config = loadConfig({ overridePath: args.config });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`nexy: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = createLogger(config.logging.level);
  let server;
  try {
    server = await startServer(config, { logger });
  } catch (error) {
    // Parts of the config checked while the server is built (prompt template, action schemas, filter patterns).
    if (error instanceof ConfigError) {
      process.stderr.write(`nexy: ${error.message}\n`);
      return 2;
    }
    logger.fatal({ err: error }, 'start-up failed');
    return 1;
  }
  const running = server;
  return new Promise<number>((resolveExit) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received');
      running.shutdown().then(
        () => resolveExit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolveExit(1);
        },
      );
    };
    // SIGHUP: certificate rotation. New connections get the new certificate; open ones keep theirs.
    process.on('SIGHUP', () => {
      try {
        if (running.reloadTls()) logger.info('tls certificate reloaded');
        else logger.info('SIGHUP: no TLS configured, nothing to reload');
      } catch (error) {
        logger.error({ problem: describeTlsError(error) }, 'tls reload failed; the previous certificate stays');
      }
    });
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
