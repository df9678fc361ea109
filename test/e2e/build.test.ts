import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';

/**
 * The compiled tree (dist/, rebuilt by the test runner before every run) as it ships: no test
 * code, no import of a dev dependency (`npm ci --omit=dev` leaves them out), sharp only on the
 * screenshot path, and the `nexy` entry point loading no command until one runs.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const DIST = join(ROOT, 'dist');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Bare package names a module imports, statically or with import(). */
function packagesImported(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/gm),
    ...source.matchAll(/^\s*import\s*"([^"]+)"/gm),
    ...source.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

test('dist/ holds no tests and imports no dev dependency; sharp only from the screenshot path', () => {
  assert.ok(existsSync(join(DIST, 'cli/main.js')), 'dist/ is built (npm test builds it first)');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    optionalDependencies: Record<string, string>;
  };
  const modules = files(DIST).filter((f) => f.endsWith('.js'));
  assert.deepEqual(
    modules.filter((f) => f.endsWith('.test.js')),
    [],
  );
  for (const module of modules) {
    const name = relative(DIST, module);
    for (const imported of packagesImported(readFileSync(module, 'utf8'))) {
      assert.ok(!(imported in pkg.devDependencies), `${name} imports the dev dependency ${imported}`);
      assert.ok(imported in pkg.dependencies || imported in pkg.optionalDependencies, `${name} imports ${imported}, not a dependency`);
      if (imported === 'sharp') assert.equal(name, join('cli', 'screenshot.js'));
    }
  }
  // The non-TypeScript files the server reads beside its modules.
  for (const asset of ['http/operator-page.html', 'gen/streaming.binpb', 'gen/health.binpb']) assert.ok(existsSync(join(DIST, asset)), asset);
});

test('the nexy entry point imports no command module up front (nexy --help loads none)', () => {
  const main = readFileSync(join(DIST, 'cli/main.js'), 'utf8');
  const staticImports = [...main.matchAll(/^import\s[^;]*?from\s*"([^"]+)"/gm)].map((m) => m[1]);
  assert.deepEqual(staticImports.sort(), ['./command.js', 'node:util']);
});
