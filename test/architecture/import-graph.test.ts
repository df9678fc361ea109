// The folders under src/ state the architecture (docs/ARCHITECTURE.md, the paragraph before
// "Modules and who owns what"); this test keeps the import graph honest: no cycle among src/ files
// or among the folders, and none of the arrows the layering forbids. Imports are read with the
// TypeScript API (`ts.preProcessFile`: static imports, `export … from`, `import()` and `require`);
// type-only imports count, since they couple folders as much as value imports do.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = join(ROOT, 'src');

/** Folders that must not import `src/pipeline/` (the turn orchestration sits above them). */
const BELOW_PIPELINE = ['sessions', 'client', 'memory', 'cli', 'http'];
/** Further forbidden arrows, folder → folder. */
const FORBIDDEN: ReadonlyArray<readonly [string, string]> = [
  ...BELOW_PIPELINE.map((from) => [from, 'pipeline'] as const),
  ['memory', 'text-processing'],
];
/**
 * The bottom folders and all they may import besides themselves: the wire's rules and the
 * language-model layer are used by everything above them and lean on nothing but the error type
 * (and, for `llm/create-llm.ts`, the config section that names the providers), and the network
 * providers' shared plumbing (`upstream.ts`, itself on the error type only).
 */
const ONLY: Readonly<Record<string, readonly string[]>> = {
  protocol: [],
  llm: ['errors.ts', 'config', 'upstream.ts'],
  'upstream.ts': ['errors.ts'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The src/ file a relative specifier names (`./x.js` → `x.ts`), or undefined for packages. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/u, '.ts'), `${base}.ts`, join(base, 'index.ts'), base]) {
    if (candidate.endsWith('.ts') && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Every src/ file (tests included: a test beside its module is part of that folder) → its src/ imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((ref) => resolveImport(file, ref.fileName))
      .filter((target): target is string => target !== undefined && target.startsWith(SRC + sep));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

const rel = (file: string): string => relative(SRC, file).split(sep).join('/');
/** The folder under src/ a file is in (a file at the top, such as `server.ts`, is its own). */
const folderOf = (file: string): string => rel(file).split('/')[0]!;
const isTest = (file: string): boolean => file.endsWith('.test.ts');

/** The folder graph of the shipped code (tests left out: a test may import from above its folder). */
function folderGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    if (isTest(file)) continue;
    const from = folderOf(file);
    const edges = folders.get(from) ?? new Set<string>();
    folders.set(from, edges);
    for (const target of targets) if (folderOf(target) !== from) edges.add(folderOf(target));
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges]]));
}

/** One cycle as a path of nodes (first = last), or undefined when the graph has none. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.get(node) === undefined) {
      const cycle = visit(node);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

test('the src/ import graph reads the sources it should', () => {
  const graph = importGraph();
  // A sanity check that the parser sees imports at all: the composition root imports many folders.
  const server = graph.get(join(SRC, 'server.ts')) ?? [];
  assert.ok(new Set(server.map(folderOf)).size >= 5, `src/server.ts imports: ${server.map(rel).join(', ')}`);
});

test('no import cycle among src/ files', () => {
  const cycle = findCycle(importGraph());
  assert.equal(cycle, undefined, `import cycle: ${cycle?.map(rel).join(' → ')}`);
});

test('no cycle among the src/ folders', () => {
  const cycle = findCycle(folderGraph(importGraph()));
  assert.equal(cycle, undefined, `folder cycle: ${cycle?.join(' → ')}`);
});

test('no import along a forbidden folder arrow', () => {
  const arrows: string[] = [];
  for (const [file, targets] of importGraph()) {
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(target);
      const allowed = ONLY[from];
      if (
        FORBIDDEN.some(([a, b]) => from === a && to === b) ||
        (allowed !== undefined && to !== from && !allowed.includes(to))
      ) {
        arrows.push(`${rel(file)} → ${rel(target)}`);
      }
    }
  }
  assert.deepEqual(arrows, [], `forbidden imports:\n${arrows.join('\n')}`);
});

test('test material stays out of src/ (suites and case tables live under test/)', () => {
  const misplaced = sources(SRC).map(rel).filter((file) => /(-suite|-cases)\.ts$/u.test(file));
  assert.deepEqual(misplaced, []);
});
