/**
 * Imported by every test that uses the harness: an unhandled rejection or uncaught exception is
 * a bug, and the test file that saw it fails (exit code 1) with the reason on stderr, even when
 * it happens after the test that caused it ended. (node:test fails the file too; this does not
 * depend on it, and names the event plainly.) The server itself installs no such listener in
 * `startServer`, so nothing it does can hide these events from a test.
 */
let installed = false;

export function installTestProcessGuard(): void {
  if (installed) return;
  installed = true;
  const fail = (event: string) => (reason: unknown) => {
    process.exitCode = 1;
    const text = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    process.stderr.write(`test process guard: ${event} (a bug): ${text}\n`);
  };
  process.on('unhandledRejection', fail('unhandledRejection'));
  process.on('uncaughtExceptionMonitor', fail('uncaughtException'));
}

installTestProcessGuard();
