// `npm run build` (and `prepare`, so `npm ci` leaves a runnable server): src/ → dist/.
//
// esbuild transpiles each module on its own (no bundle), so dist/ mirrors src/ file for file:
// `new URL('./x.js', import.meta.url)` and a worker file next to its module resolve the same in
// both trees, and src/ and dist/ sit at the same depth below the package root. Type checking is
// `npm run typecheck` (tsc); nothing consumes declaration files (the package is private), so none
// are emitted. The non-TypeScript files under src/ (the operator page, the protobuf descriptors)
// are copied beside their modules. Tests and test-only suites are not shipped.
//
// Except `VENDORED`: packages shipped as hundreds of small ES modules (kysely: ~260, zod: ~95),
// each bundled into one file under dist/vendor/ that dist/'s modules import instead. Node holds
// every loaded module's record, source and functions: as one file kysely costs the idle server
// ~2 MB of RSS instead of ~12, zod ~3.5 instead of ~6 (measured importing each alone). Only this
// package's modules import them (no dependency does), so each still loads once per thread.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const OUT = join(ROOT, 'dist');

/** Packages imported from dist/vendor/<name>.js (one bundle each); only their main entry is used. */
const VENDORED = ['kysely', 'zod'];

/** Test files and the shared suites they run (they import node:test). */
const isTestOnly = (name) => name.endsWith('.test.ts') || name.endsWith('-suite.ts');

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

/**
 * How TypeScript becomes the JavaScript that runs, one module per file; the test runner
 * (scripts/run-tests.mjs) compiles the tests the same way.
 */
export const COMPILE_OPTIONS = {
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Stack traces map back to the .ts sources with --enable-source-maps.
  sourcemap: 'linked',
  logLevel: 'warning',
};

// Imported (by the test runner) for COMPILE_OPTIONS only: the build runs when this is the script.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await main();

async function main() {
  let build;
  try {
    ({ build } = await import('esbuild'));
  } catch {
    // `npm ci --omit=dev` (the container's runtime stage) runs `prepare` too, without esbuild: the
    // dist/ copied from the build stage is what runs.
    if (existsSync(join(OUT, 'cli/main.js'))) process.exit(0);
    process.stderr.write('nexy build: esbuild is not installed (a production install?) and dist/ is missing: run `npm ci` with dev dependencies\n');
    process.exit(1);
  }

  const files = walk(SRC);
  const modules = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !isTestOnly(f));
  const assets = files.filter((f) => !f.endsWith('.ts'));

  const started = performance.now();
  rmSync(OUT, { recursive: true, force: true });
  await build({
    entryPoints: modules,
    outdir: OUT,
    outbase: SRC,
    ...COMPILE_OPTIONS,
  });
  for (const name of VENDORED) {
    await build({
      stdin: { contents: `export * from '${name}';`, resolveDir: ROOT, sourcefile: `vendor/${name}.js` },
      outfile: join(OUT, 'vendor', `${name}.js`),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'warning',
    });
  }
  // `from "kysely"` / `import("kysely")` in esbuild's output → the bundle, by a relative path.
  const vendoredImport = new RegExp(`((?:from|import)\\s*\\(?\\s*)"(${VENDORED.join('|')})"`, 'g');
  for (const module of modules) {
    const out = join(OUT, relative(SRC, module)).replace(/\.ts$/, '.js');
    const code = readFileSync(out, 'utf8');
    const toVendor = relative(dirname(out), join(OUT, 'vendor')).split('\\').join('/') || '.';
    const rewritten = code.replace(vendoredImport, (_all, head, name) => `${head}"${toVendor.startsWith('.') ? toVendor : `./${toVendor}`}/${name}.js"`);
    if (rewritten !== code) writeFileSync(out, rewritten);
  }
  for (const asset of assets) {
    const target = join(OUT, relative(SRC, asset));
    mkdirSync(dirname(target), { recursive: true });
    cpSync(asset, target);
  }
  const ms = Math.round(performance.now() - started);
  process.stderr.write(`nexy build: ${modules.length} modules, ${assets.length} assets → dist/ in ${ms} ms\n`);
}
