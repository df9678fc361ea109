import { ConfigError, loadConfig } from '../config/load.js';
import { ServiceUnreachableError } from '../errors.js';
import { describeTlsError } from '../grpc/tls.js';
import { createLogger } from '../observability/logger.js';
import { installProcessGuards } from '../observability/process-guards.js';
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
    if (error instanceof ServiceUnreachableError) {
      // One line naming the service and its (masked) URL; a stack would say nothing more.
      const reason = error.cause instanceof Error ? error.cause.message : undefined;
      logger.fatal({ dependency: error.service, url: error.url, reason }, 'start-up failed: a service is unreachable');
      return 1;
    }
    logger.fatal({ err: error }, 'start-up failed');
    return 1;
  }
  const running = server;
  return new Promise<number>((resolveExit) => {
    let stopped = false;
    const stop = (reason: Record<string, unknown>, code: number) => {
      if (stopped) return;
      stopped = true;
      running.shutdown().then(
        () => resolveExit(code),
        (error: unknown) => {
          logger.error({ ...reason, err: error }, 'shutdown failed');
          resolveExit(1);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received');
      stop({ signal }, 0);
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
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    // The ports are open; a warm-up that fails (the speech engine cannot load) is fatal, as it
    // was before the ports opened early: logged by the server, then a clean stop and exit 1.
    running.ready.catch(() => stop({ reason: 'warm-up failed' }, 1));
    installProcessGuards(process, logger, {
      onInternalError: () => running.metrics.errors.inc({ kind: 'internal' }),
      onFatal: (code) => stop({ reason: 'fatal error' }, code),
    });
  });
}
