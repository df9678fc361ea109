#!/usr/bin/env node
// The `nexy` command: runs the compiled code in dist/ (`npm run build`; `npm ci` builds it).
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/main.js')) throw error;
  process.stderr.write('nexy: dist/ is missing: run `npm run build` (`npm ci` runs it)\n');
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
