import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where a worker module of this folder is, and the flags its thread needs. The module has the
 * running code's own extension: `.ts` when the server runs from its sources through tsx, `.js`
 * once compiled. A worker thread loads TypeScript only if tsx is loaded in it too: tests and
 * `node --import tsx` pass that on through the inherited flags, but `bin/nexy.mjs` registers tsx
 * through its API, which reaches the main thread only; then the worker is given `--import tsx`.
 */
export function workerModule(name: string): { readonly url: URL; readonly execArgv: string[] } {
  const ext = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./${name}${ext}`, import.meta.url);
  const inherited = process.execArgv;
  if (ext !== '.ts' || inherited.some((flag, i) => flag.includes('tsx') && (inherited[i - 1] === '--import' || flag.startsWith('--import')))) {
    return { url, execArgv: inherited };
  }
  return { url, execArgv: [...inherited, '--import', import.meta.resolve('tsx')] };
}
