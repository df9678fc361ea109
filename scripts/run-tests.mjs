// Runs every *.test.ts under src/ and test/ with node's test runner.
// Extra arguments are passed on: `npm test -- --test-name-pattern=collect`.
// NEXY_TEST_FILES=a.test.ts,b.test.ts narrows the run to those files.
// NEXY_TEST_CONCURRENCY=N runs N test files at once (default below).
//
// dist/ is rebuilt first (esbuild, well under a second): tests that start `bin/nexy.mjs` as a
// child process run the compiled code, and it must be this tree's.
//
// The TypeScript of src/, test/, bench/ and scripts/ is then compiled the same way into
// .test-build/, a mirror of the package root (every other top-level entry, and every
// non-TypeScript file, is a symbolic link to the original), and the tests run from there as plain
// JavaScript. Loading the sources through tsx instead cost every test process (and every worker
// thread it starts) up to about a second of CPU in module loading: over a hundred processes, a large
// part of the suite's time. Paths a test computes from its own location land in the mirror and
// reach the same files; stack traces point at the .ts sources (--enable-source-maps).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { COMPILE_OPTIONS } from './build.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, '.test-build');
const COMPILED = ['src', 'test', 'bench', 'scripts'];

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit', cwd: ROOT });
if (built.status !== 0) process.exit(built.status ?? 1);

const started = performance.now();
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT);
for (const name of readdirSync(ROOT)) {
  if (name === '.git' || name === '.test-build' || COMPILED.includes(name)) continue;
  symlinkSync(join(ROOT, name), join(OUT, name));
}
const sources = COMPILED.flatMap((dir) => walk(join(ROOT, dir)));
const modules = sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
for (const file of sources) {
  // The .ts files too: a test may start one through tsx (test/support/fixtures/).
  const target = join(OUT, relative(ROOT, file));
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(file, target);
}
await build({
  entryPoints: modules,
  outdir: OUT,
  outbase: ROOT,
  ...COMPILE_OPTIONS,
});
process.stderr.write(`nexy tests: ${modules.length} modules → .test-build/ in ${Math.round(performance.now() - started)} ms\n`);

/**
 * Files that take longest (measured: each starts several servers, speaks many answers or starts
 * child processes) start first, then the other end-to-end files, then the rest: started last, one
 * of them would keep the run going alone at the end. A stale list costs time, never a test.
 */
const SLOW_FIRST = [
  'test/e2e/quotas.test.ts',
  'test/e2e/speech-pool.test.ts',
  'test/e2e/memory.test.ts',
  'test/e2e/quiet-chunks.test.ts',
  'test/e2e/limits.test.ts',
  'src/memory/sql-memory-store.test.ts',
  'src/audio/synthesis-pool.test.ts',
  'test/e2e/nginx-instances.test.ts',
  'test/e2e/cli.test.ts',
  'test/e2e/tls.test.ts',
  'test/e2e/operations.test.ts',
  'test/e2e/startup-unreachable.test.ts',
  'test/e2e/process.test.ts',
];
const rank = (file) => {
  const slow = SLOW_FIRST.indexOf(file);
  return slow >= 0 ? slow : file.startsWith('test/e2e/') ? SLOW_FIRST.length : SLOW_FIRST.length + 1;
};
const compiled = (file) => join(OUT, relative(ROOT, resolve(ROOT, file))).replace(/\.ts$/u, '.js');
const files = (
  process.env.NEXY_TEST_FILES
    ? process.env.NEXY_TEST_FILES.split(',')
    : ['src', 'test'].flatMap((dir) => walk(join(ROOT, dir))).map((f) => relative(ROOT, f)).filter((f) => f.endsWith('.test.ts'))
)
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  .map(compiled);
for (const file of files) if (!existsSync(file)) throw new Error(`no test file ${relative(OUT, file).replace(/\.js$/u, '.ts')}`);
const concurrency = Number(process.env.NEXY_TEST_CONCURRENCY ?? availableParallelism() * 2);
const args = ['--enable-source-maps', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...process.argv.slice(2), ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
process.exit(result.status ?? 1);
