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
  const inherited = workerFlags(process.execArgv);
  if (ext !== '.ts' || inherited.some((flag, i) => flag.includes('tsx') && (inherited[i - 1] === '--import' || flag.startsWith('--import')))) {
    return { url, execArgv: inherited };
  }
  return { url, execArgv: [...inherited, '--import', import.meta.resolve('tsx')] };
}

/**
 * V8's heap and GC flags are process-wide: a worker given one fails to start
 * (ERR_WORKER_INVALID_EXEC_ARGV), and `npm start` and the systemd unit pass
 * `--max-semi-space-size`. Workers share the process's V8 settings anyway.
 */
const PROCESS_WIDE = /^--(max[-_]semi[-_]space[-_]size|max[-_]old[-_]space[-_]size|max[-_]young[-_]generation[-_]size|expose[-_]gc|stack[-_]size)(=|$)/u;

/** `execArgv` without the process-wide V8 flags (and their separate values). */
export function workerFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    if (!PROCESS_WIDE.test(flag)) {
      out.push(flag);
      continue;
    }
    if (!flag.includes('=') && /^\d+$/u.test(execArgv[i + 1] ?? '')) i++;
  }
  return out;
}
