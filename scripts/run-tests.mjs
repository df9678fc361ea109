// Runs every *.test.ts under src/ and test/ with node's test runner (TypeScript through tsx).
// Extra arguments are passed on: `npm test -- --test-name-pattern=collect`.
// NEXY_TEST_FILES=a.test.ts,b.test.ts narrows the run to those files.
// dist/ is rebuilt first (esbuild, well under a second): tests that start `bin/nexy.mjs` as a
// child process run the compiled code, and it must be this tree's.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  let out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out = out.concat(find(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = process.env.NEXY_TEST_FILES
  ? process.env.NEXY_TEST_FILES.split(',')
  : [...find('src'), ...find('test')].sort();
const built = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...process.argv.slice(2), ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
